/** The Store on SQL: the same statements on PostgreSQL and on PGlite. */
import { AttributeInstance, badRequest, expireEntity, NgsiError, notFound, nowIso, StoredEntity } from '@civitas/core';
import { SqlDriver, SqlExecutor, Statement, statement } from './driver';
import { ENTITY_COLUMNS, EntityRow, LIVE_ENTITY, readsBackAsWritten, rowToEntity } from './entityRows';
import { compileEntityFilter, compileOrder } from './entityQuerySql';
import { SqlParams } from './qSql';
import type { ChangeFeed } from './changeFeed';
import { OutboxChange, outboxChanges, WRITE_STATEMENT, writeParams } from './writeStatement';
import { GroupMember, WriteGroups } from './writeGroups';
import { ReadBatches } from './readBatches';
import { EntityCache, VersionedEntity } from './entityCache';
import { Turns } from './turns';
import type { EntityChange, NotificationStore } from './notifications';
import type { CommittedChanges } from './changeFeed';
import type { ProvisioningStore } from './provisioning';
import type { RegistrationStore } from './registrations';
import {
  AggregateRow,
  AggregationMethod,
  appendHistory,
  deleteHistory,
  historyAggregates,
  HistoryDeletion,
  historyEntities,
  historyEntityCount,
  HistoryInstance,
  historyInstances,
  HistoryFilters,
  historyMatchingEntities,
  HistorySelection,
  InstanceTake,
  historyTypes,
  NewHistoryInstance,
  pruneHistory,
  replaceHistoryInstance,
} from './history';
import type {
  AttributeDetails,
  AttributeSummary,
  EntityQuery,
  Intermediates,
  MutateOptions,
  MutationOutcome,
  QueryResult,
  Store,
  TypeDetails,
  TypeSummary,
  WritePlan,
} from './store';

/** PostgreSQL error codes the store answers itself. */
const SERIALIZATION_FAILURE = '40001';
const DEADLOCK = '40P01';
const INVALID_REGEX = '2201B';
const UNIQUE_VIOLATION = '23505';
/** Writes tried again after finding what they read changed (or a deadlock), a few milliseconds apart. */
const MAX_ATTEMPTS = 8;

/** Most entities one group of mutations reads (a single larger mutation still goes, alone). */
const MAX_GROUP_IDS = 1000;
/** A group reading at least this many entities may take a lane for large groups (see SpareLanes). */
const LARGE_GROUP_IDS = 100;
/** Most entities the entity cache keeps by default: a few tens of megabytes of Smart Data Models entities. */
export const DEFAULT_ENTITY_CACHE = 10_000;
/** Most entities one statement of coalesced reads fetches. */
const MAX_READ_IDS = 500;

/** A mutation waiting for its group, with what settles its promise. */
interface PendingMutation extends GroupMember {
  plan: (current: Map<string, StoredEntity>) => WritePlan<unknown>;
  options: MutateOptions;
  resolve(outcome: MutationOutcome<unknown>): void;
}

/** What a member's plan came to in its group: its result and the inserts that met an existing entity, or the error it threw. */
type Settlement = { result: unknown; conflicts: string[] } | { error: unknown };

const GET_ENTITIES = statement('get_entities', `SELECT ${ENTITY_COLUMNS} FROM entities WHERE tenant = $1 AND id = ANY($2::text[]) AND ${LIVE_ENTITY}`);

/**
 * What a write reads: the entities, expired ones included, with their
 * versions (see WRITE_STATEMENT), and whether the tenant has subscriptions
 * as of which subscription revision. A write records its changes in the
 * outbox only then, and the states before and after are worth sending to
 * the database only then; a subscription created between this read and the
 * write is concurrent with the write, which it may then miss, as it would a
 * write just before it. One row at least: without entities, a row of nulls
 * with the flag and the revision.
 */
const READ_FOR_WRITE = statement(
  'read_for_write',
  `SELECT s.subscribed, s.revision, e.* FROM (SELECT EXISTS (SELECT 1 FROM subscriptions WHERE tenant = $1) AS subscribed,
                                                    (SELECT revision FROM subscription_revision) AS revision) AS s
   LEFT JOIN LATERAL (SELECT ${ENTITY_COLUMNS}, version FROM entities WHERE tenant = $1 AND id = ANY($2::text[])) AS e ON true`,
);

/** Whether a tenant had subscriptions, as of a subscription revision (see READ_FOR_WRITE). */
interface SubscriptionsSeen {
  subscribed: boolean;
  revision: string;
}

/** A row of READ_FOR_WRITE: an entity, or none (its columns null). */
type ReadForWriteRow = SubscriptionsSeen & ((EntityRow & { version: string }) | { id: null });

/** The row of WRITE_STATEMENT (jsonb as text on drivers that leave it unparsed). */
interface WriteRow {
  inserted: string[];
  /** The version each entity written now has. */
  versions: Record<string, string> | string;
  changes: Array<{ seq: string; id: string; at: string }> | string;
  revision: string;
}

/** What a write plans from: the entities as they are (absent ones left out), their row versions, and the tenant's subscriptions. */
interface WriteBasis {
  current: Map<string, StoredEntity>;
  versions: Map<string, string>;
  subscriptions: SubscriptionsSeen;
  /** Planned from what this process kept (see EntityCache), not from a read. */
  kept: boolean;
}

export class SqlStore implements Store {
  /** Tenants seen to exist; tenants are never dropped while a process runs. */
  private readonly knownTenants = new Set<string>(['']);
  /** ICU collations created for BCP 47 tags, by tag. */
  private readonly collations = new Map<string, string>();
  /** Entities created by this process, and the count at which planner statistics are next refreshed (see refreshStatistics). */
  private created = 0;
  private nextAnalyze: number;
  private analyzing = false;
  /** Concurrent mutations, grouped into shared transactions under load. */
  private readonly writes: WriteGroups<PendingMutation>;
  /** Write statements run one per lane at a time; a group planned ahead waits here for its turn. */
  private readonly statements: Turns;
  /** The same for the lanes of large groups. */
  private readonly largeStatements: Turns;
  /** Concurrent reads of single entities, fetched together under load. */
  private readonly reads: ReadBatches<StoredEntity>;
  /** Entities read recently (see EntityCache); none when its size is 0. */
  private readonly cache?: EntityCache;
  /** Stops listening to other processes' announcements of the entities they write. */
  private readonly stopListening?: () => Promise<void>;
  /** Where this process announces the entities it writes, as the write statement takes it (see WriteRecords). */
  private readonly announce?: { channel: string; owner: string };
  /** Operations accepted and not yet settled: closing waits for them, so that a write whose client has gone still lands. */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Per tenant, whether it had subscriptions when last read, for writes planned without a read. */
  private readonly subscriptionsSeen = new Map<string, SubscriptionsSeen>();
  private readonly stopHearingRevisions: () => void;

  constructor(
    private readonly db: SqlDriver,
    private readonly feed: ChangeFeed,
    readonly notifications: NotificationStore,
    readonly provisioning: ProvisioningStore,
    readonly registrations: RegistrationStore,
    /** Keep attribute history (the temporal API); off saves its cost on every write. */
    private readonly history = true,
    /** Most entities the entity cache keeps; 0 keeps none. */
    entityCache = DEFAULT_ENTITY_CACHE,
  ) {
    if (entityCache > 0) {
      const cache = new EntityCache(entityCache, !db.announcements);
      this.cache = cache;
      // Nothing is kept until announcements are heard (see EntityAnnouncements.listen).
      this.stopListening = db.announcements?.listen(
        (payload) => this.heard(payload),
        (listening) => (listening ? cache.trust() : cache.distrust()),
      );
    }
    this.announce = db.announcements && { channel: db.announcements.channel, owner: feed.owner };
    // The revision is one for all tenants: a change in any makes every tenant's read again.
    this.stopHearingRevisions = feed.onSubscriptionsRevised(() => this.subscriptionsSeen.clear());
    this.nextAnalyze = db.kind === 'embedded' ? 5_000 : 1_000;
    this.statements = new Turns(db.writeLanes);
    this.largeStatements = new Turns(db.largeWriteLanes);
    // With planAhead, each lane has a second group in flight: read and planned while the statement of the first runs.
    const groupsPerLane = db.planAhead ? 2 : 1;
    this.writes = new WriteGroups(
      db.writeLanes * groupsPerLane,
      MAX_GROUP_IDS,
      (group, large) => this.writeGroup(group, large ? this.largeStatements : this.statements),
      { lanes: db.largeWriteLanes * groupsPerLane, minIds: LARGE_GROUP_IDS },
    );
    this.reads = new ReadBatches(db.readLanes, MAX_READ_IDS, async (tenant, ids) => {
      const rows = await this.run<EntityRow>(this.db, GET_ENTITIES, [tenant, ids]);
      return new Map(rows.map((row) => [row.id, rowToEntity(row)]));
    });
  }

  get driver(): 'postgres' | 'embedded' {
    return this.db.kind;
  }

  async tenantExists(tenant: string): Promise<boolean> {
    if (this.knownTenants.has(tenant)) return true;
    const rows = await this.run(this.db, 'SELECT 1 FROM tenants WHERE name = $1', [tenant]);
    if (rows.length > 0) this.knownTenants.add(tenant);
    return rows.length > 0;
  }

  getEntity(tenant: string, id: string): Promise<StoredEntity | undefined> {
    const cache = this.cache;
    if (!cache) return this.track(this.reads.get(tenant, id));
    const cached = cache.get(tenant, id);
    if (cached) return Promise.resolve(cached);
    const read = cache.startRead(tenant, id);
    return this.track(
      this.reads.get(tenant, id).then(
        (entity) => cache.finishRead(read, entity),
        (e) => {
          cache.abandonRead(read);
          throw e;
        },
      ),
    );
  }

  /** Another process announced the entities it wrote (see WRITE_STATEMENT): they leave the cache. */
  private heard(payload: string): void {
    let announcement: { o?: unknown; t?: unknown; ids?: unknown } | undefined;
    try {
      announcement = JSON.parse(payload);
    } catch {
      announcement = undefined;
    }
    const { o: owner, t: tenant, ids } = announcement ?? {};
    if (owner === this.feed.owner) return;
    if (typeof tenant !== 'string') {
      // Which entities changed is unknown: none may be answered from memory any more.
      console.error('Entity announcement not understood; the entity cache is emptied:', payload.slice(0, 200));
      this.cache?.dropAll();
    } else if (Array.isArray(ids)) this.cache?.drop(tenant, ids as string[]);
    else this.cache?.dropTenant(tenant);
  }

  mutate<T>(
    tenant: string,
    ids: string[],
    plan: (current: Map<string, StoredEntity>) => WritePlan<T>,
    options: MutateOptions = {},
  ): Promise<MutationOutcome<T>> {
    return this.track(
      new Promise((resolve, reject) => {
        const key = [tenant, options.createTenant, options.retryConflicts, options.history, options.sweep].map(String).join('\u0000');
        this.writes.submit({ tenant, ids: [...new Set(ids)], key, alone: false, plan, options, resolve: resolve as PendingMutation['resolve'], reject });
      }),
    );
  }

  private track<R>(operation: Promise<R>): Promise<R> {
    this.inFlight.add(operation);
    const done = () => this.inFlight.delete(operation);
    operation.then(done, done);
    return operation;
  }

  /**
   * Writes a group of mutations (see WriteGroups) with one read and one
   * statement. A write that finds what it read changed since is read and
   * planned again; when the statement fails for a reason trying again
   * cannot mend, each member is written again alone, so that only the one
   * at fault fails.
   */
  private async writeGroup(group: PendingMutation[], turns: Turns): Promise<void> {
    const { tenant, options } = group[0];
    for (let attempt = 1; ; attempt++) {
      try {
        // On the last attempt an insert that meets an entity is reported rather than tried again as an update.
        const attemptOptions = attempt < MAX_ATTEMPTS ? options : { ...options, retryConflicts: false };
        // After a conflict the entities are read: what this process kept of them may be what changed.
        const { settled, putOff, committed } = await this.writeGroupOnce(tenant, group, attemptOptions, turns, attempt > 1);
        // Committed: the notifier of this process routes the changes now.
        if (committed) this.feed.publish(committed);
        for (const [member, outcome] of settled) {
          if ('error' in outcome) member.reject(this.translate(outcome.error));
          else member.resolve(outcome);
        }
        if (putOff.length > 0) this.writes.retry(putOff);
        return;
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (attempt < MAX_ATTEMPTS && (code === SERIALIZATION_FAILURE || code === DEADLOCK)) {
          // Whoever changed the entities is likely still writing them: a short, random wait lets it finish.
          await new Promise((r) => setTimeout(r, Math.random() * 2 * attempt));
          continue;
        }
        if (group.length > 1) this.writes.retry(group.map((m) => ({ ...m, alone: true })));
        else group[0].reject(this.translate(e));
        return;
      }
    }
  }

  /**
   * What a group plans from: what this process kept of its entities when it
   * wrote them last (every one of them, and the tenant's subscriptions
   * known), else a read. A sweep always reads: it looks for what expired.
   */
  private async writeBasis(tenant: string, ids: string[], options: MutateOptions, read: boolean): Promise<WriteBasis> {
    const seen = this.subscriptionsSeen.get(tenant);
    if (!read && !options.sweep && seen && this.cache) {
      const current = new Map<string, StoredEntity>();
      const versions = new Map<string, string>();
      for (const id of ids) {
        const kept = this.cache.getWritten(tenant, id);
        if (!kept) break;
        current.set(id, kept.entity);
        versions.set(id, kept.version);
      }
      // A group's members name different entities, each once.
      if (current.size === ids.length) return { current, versions, subscriptions: seen, kept: true };
    }
    const rows = await this.db.writer.query<ReadForWriteRow>(READ_FOR_WRITE, [tenant, ids]);
    // Bigints as text, whichever driver read them.
    const subscriptions = { subscribed: rows[0].subscribed, revision: String(rows[0].revision) };
    this.subscriptionsSeen.set(tenant, subscriptions);
    const current = new Map<string, StoredEntity>();
    const versions = new Map<string, string>();
    const now = Date.now();
    for (const row of rows) {
      if (row.id === null) continue;
      const entity = rowToEntity(row);
      versions.set(entity.id, String(row.version));
      // An entity past its expiry that the sweep has not reached yet is gone for this write too (4.22): a create replaces it.
      if (options.sweep || !entity.expiresAt || Date.parse(entity.expiresAt) > now) current.set(entity.id, entity);
    }
    return { current, versions, subscriptions, kept: false };
  }

  private async writeGroupOnce(
    tenant: string,
    group: PendingMutation[],
    options: MutateOptions,
    turns: Turns,
    read: boolean,
  ): Promise<{ settled: Map<PendingMutation, Settlement>; putOff: PendingMutation[]; committed?: CommittedChanges }> {
    const createTenant = !this.knownTenants.has(tenant) && (options.createTenant ?? false);
    if (!this.knownTenants.has(tenant) && !createTenant && !(await this.tenantExists(tenant))) {
      throw new NgsiError('NonexistentTenant', `Tenant ${tenant} does not exist`);
    }
    const basis = await this.writeBasis(tenant, group.flatMap((m) => m.ids), options, read);
    const { current, versions } = basis;
    const { subscribed } = basis.subscriptions;
    const settled = new Map<PendingMutation, Settlement>();
    const putOff: PendingMutation[] = [];
    const inserts: StoredEntity[] = [];
    const upserts: StoredEntity[] = [];
    const deletes: string[] = [];
    const intermediates: Intermediates = new Map();
    const written = new Set<string>();
    for (const member of group) {
      let plan: WritePlan<unknown>;
      try {
        plan = member.plan(new Map(member.ids.filter((id) => current.has(id)).map((id) => [id, current.get(id)!])));
      } catch (error) {
        settled.set(member, { error });
        continue;
      }
      const { inserts: i = [], upserts: u = [], deletes: d = [], intermediates: between, result } = plan;
      const touches = [...i.map((e) => e.id), ...u.map((e) => e.id), ...d];
      // Two members writing one entity (creates name no entity to read): the later one waits for the next group.
      if (touches.some((id) => written.has(id))) {
        putOff.push(member);
        continue;
      }
      for (const id of touches) written.add(id);
      inserts.push(...i);
      upserts.push(...u);
      deletes.push(...d);
      for (const [id, states] of between ?? []) intermediates.set(id, states);
      settled.set(member, { result, conflicts: i.map((e) => e.id) });
    }
    if (written.size === 0) return { settled, putOff };
    const history = this.history && options.history !== false;
    // The steps feed the outbox and the history's extra records; a write that keeps neither needs none.
    const steps = subscribed || history ? outboxChanges(current, { inserts, upserts, deletes, intermediates }) : [];
    const lease = this.feed.lease;
    const assumedRevision = basis.kept ? basis.subscriptions.revision : undefined;
    const params = writeParams(
      tenant,
      current,
      { inserts, upserts, deletes, versions, createTenant, strictInserts: options.retryConflicts ?? false, assumedRevision },
      { history, steps, outbox: subscribed, lease, announce: this.announce },
    );
    // Reads of these entities in flight may hold the state before: they are not kept, and neither is what this write
    // leaves if another process's announcement drops an entity meanwhile.
    const claims = this.cache ? [...written].map((id) => this.cache!.startRead(tenant, id)) : [];
    const kept = new Map<string, VersionedEntity>();
    let row: WriteRow;
    try {
      [row] = await turns.run(() => this.db.writer.query<WriteRow>(WRITE_STATEMENT, params));
      const left = typeof row.versions === 'string' ? (JSON.parse(row.versions) as Record<string, string>) : row.versions;
      for (const e of [...inserts, ...upserts]) if (left[e.id] !== undefined && readsBackAsWritten(e)) kept.set(e.id, { entity: e, version: left[e.id] });
    } finally {
      this.cache?.finishWrite(claims, kept);
    }
    // Subscriptions changed since the tenant's were read: the next write reads them again.
    if (String(row.revision) !== basis.subscriptions.revision) this.subscriptionsSeen.delete(tenant);
    if (createTenant) this.knownTenants.add(tenant);
    const inserted = new Set(row.inserted);
    for (const outcome of settled.values()) {
      if ('conflicts' in outcome) outcome.conflicts = outcome.conflicts.filter((id) => !inserted.has(id));
    }
    this.refreshStatistics(inserted.size);
    const recorded = typeof row.changes === 'string' ? (JSON.parse(row.changes) as Array<{ seq: string; id: string; at: string }>) : row.changes;
    // Outbox rows leased to this process are its notifier's to route; unleased ones wait for any notifier's claim.
    if (!lease || recorded.length === 0) return { settled, putOff };
    // An entity's changes are recorded in the order given, so its outbox rows take ascending seqs.
    const byId = new Map<string, OutboxChange[]>();
    for (const c of steps) {
      const list = byId.get(c.id);
      if (list) list.push(c);
      else byId.set(c.id, [c]);
    }
    const committed: CommittedChanges = {
      revision: Number(row.revision),
      changes: [...recorded].sort((a, b) => Number(a.seq) - Number(b.seq)).map(({ seq, id, at }) => {
        const { before, after } = byId.get(id)!.shift()!;
        const change: EntityChange = { seq: Number(seq), tenant, entityId: id, changedAt: at };
        if (before) change.before = before;
        if (after) change.after = after;
        return change;
      }),
    };
    return { settled, putOff, committed };
  }

  /**
   * Deletes what has expired (4.22): entities past their expiresAt, and
   * attribute instances past theirs, through the write path, so that
   * subscribers hear of it and the history records it. One batch of due
   * entities; the number handled (a full batch means there may be more).
   */
  async expireDue(batch = 500): Promise<number> {
    const due = await this.run<{ tenant: string; id: string }>(
      this.db,
      `SELECT tenant, id FROM entities WHERE expires_at <= now() OR attrs_expire_at <= now() LIMIT ${Number(batch)}`,
      [],
    );
    const byTenant = new Map<string, string[]>();
    for (const { tenant, id } of due) byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), id]);
    for (const [tenant, ids] of byTenant) {
      await this.mutate(
        tenant,
        ids,
        (current) => {
          const now = nowIso();
          const deletes: string[] = [];
          const upserts: StoredEntity[] = [];
          for (const e of current.values()) {
            const left = expireEntity(e, now);
            if (!left) deletes.push(e.id);
            else if (left !== e) upserts.push(left);
          }
          return { deletes, upserts, result: undefined };
        },
        { sweep: true },
      );
    }
    return due.length;
  }

  /**
   * Planner statistics that follow the tables' growth. A named statement
   * keeps the generic plan it was first given, and the statistics of that
   * moment decide it: a write planned on empty tables reads every side-table
   * row of its tenant where it would have probed a few. ANALYZE makes the
   * statements plan again. PGlite has no autovacuum at all: its statistics
   * are refreshed after every 5,000 created entities. A server's autovacuum
   * keeps up with a table once it has seen it, but looks only once a minute:
   * its statistics are refreshed at 1,000, 2,000, 4,000 ... entities created
   * by this process, so that a young store plans for the size it has reached.
   * Updates do not count: they change no size a plan depends on, and every
   * ANALYZE makes every connection plan its statements again, which stalls
   * a busy update stream for as long. In the background, one run at a time.
   */
  private refreshStatistics(created: number): void {
    this.created += created;
    if (this.created < this.nextAnalyze || this.analyzing) return;
    this.nextAnalyze = this.db.kind === 'embedded' ? this.created + 5_000 : this.created * 2;
    this.analyzing = true;
    this.db
      .query('ANALYZE entities, entity_values, entity_geo, attribute_history')
      .catch((e) => console.error('Refreshing planner statistics failed', e))
      .finally(() => (this.analyzing = false));
  }

  private async checkTenant(tx: SqlExecutor, tenant: string, create: boolean): Promise<void> {
    if (this.knownTenants.has(tenant)) return;
    if (create) {
      await tx.query('INSERT INTO tenants (name) VALUES ($1) ON CONFLICT DO NOTHING', [tenant]);
      // Known only once the transaction that created it has committed.
      return;
    }
    // Through the transaction: PGlite has one connection, and a query beside the open transaction would wait for it forever.
    const rows = await tx.query('SELECT 1 FROM tenants WHERE name = $1', [tenant]);
    if (rows.length === 0) throw new NgsiError('NonexistentTenant', `Tenant ${tenant} does not exist`);
    this.knownTenants.add(tenant);
  }

  async queryEntities(tenant: string, query: EntityQuery): Promise<QueryResult> {
    const { filter, params } = compileEntityFilter(tenant, query);
    // The sort keys add parameters of their own, which the count statement must not carry.
    const pageParams = [...params];
    const collation = query.ordering?.collation === undefined ? undefined : await this.collation(query.ordering.collation);
    const order = compileOrder(query, new SqlParams(pageParams), collation);
    const [rows, count] = await Promise.all([
      query.limit > 0
        ? this.run<EntityRow>(
            this.db,
            `SELECT ${ENTITY_COLUMNS} FROM entities WHERE ${filter} ORDER BY ${order} LIMIT ${Number(query.limit)} OFFSET ${Number(query.offset)}`,
            pageParams,
          )
        : Promise.resolve([]),
      query.count ? this.run<{ n: string }>(this.db, `SELECT count(*) AS n FROM entities WHERE ${filter}`, params) : Promise.resolve(undefined),
    ]);
    const result: QueryResult = { entities: rows.map(rowToEntity) };
    if (count) result.count = Number(count[0].n);
    return result;
  }

  /**
   * The SQL name of an ICU collation for a BCP 47 tag (4.23.3), created on
   * first use: PostgreSQL and PGlite ship only a few ICU collations, and a
   * tag may carry any RFC 6067 extension. A language this ICU has no data
   * for is refused rather than quietly sorted by the root order: PGlite
   * carries the root collation only.
   */
  private async collation(tag: string): Promise<string> {
    const known = this.collations.get(tag);
    if (known) return known;
    if (!/^[A-Za-z0-9-]+$/.test(tag)) throw badRequest(`collation: ${JSON.stringify(tag)} is not a BCP 47 language tag`);
    const name = `"civitas_collation_${tag.toLowerCase().replace(/-/g, '_')}"`;
    try {
      // DDL takes no parameters; the tag is letters, digits and hyphens only (checked above).
      await this.db.transaction(async (tx) => {
        // PostgreSQL 16 and later can tell an unknown language; earlier versions only warn.
        const level = await tx.query<{ n: string }>("SELECT count(*) AS n FROM pg_settings WHERE name = 'icu_validation_level'");
        if (Number(level[0].n) > 0) await tx.query('SET LOCAL icu_validation_level = error');
        await tx.query(`CREATE COLLATION IF NOT EXISTS ${name} (provider = icu, locale = '${tag}')`);
      });
    } catch (e) {
      // Another process may have created it between the check and the insert.
      if ((e as { code?: string }).code !== UNIQUE_VIOLATION) throw badRequest(`collation ${tag} is not available in this store: ${(e as Error).message}`);
    }
    this.collations.set(tag, name);
    return name;
  }

  /** The plan PostgreSQL picks for a query's page (diagnostics: is it index-bound?). */
  async explainQuery(tenant: string, query: EntityQuery): Promise<string> {
    const { filter, params } = compileEntityFilter(tenant, query);
    const order = compileOrder(query, new SqlParams(params));
    const rows = await this.run<{ 'QUERY PLAN': string }>(
      this.db,
      `EXPLAIN SELECT ${ENTITY_COLUMNS} FROM entities WHERE ${filter} ORDER BY ${order} LIMIT ${Number(query.limit)} OFFSET ${Number(query.offset)}`,
      params,
    );
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  }

  async listTypes(tenant: string): Promise<TypeSummary[]> {
    const rows = await this.run<{ type: string; attributes: string[] | null }>(
      this.db,
      `SELECT t AS type, array_agg(DISTINCT k) FILTER (WHERE k IS NOT NULL) AS attributes
       FROM entities CROSS JOIN LATERAL unnest(types) AS t LEFT JOIN LATERAL jsonb_object_keys(attrs) AS k ON true
       WHERE tenant = $1 GROUP BY t ORDER BY t`,
      [tenant],
    );
    return rows.map((r) => ({ type: r.type, attributes: r.attributes ?? [] }));
  }

  async typeDetails(tenant: string, type: string): Promise<TypeDetails | undefined> {
    const [count, attrs] = await Promise.all([
      this.run<{ n: string }>(this.db, 'SELECT count(*) AS n FROM entities WHERE tenant = $1 AND $2 = ANY(types)', [tenant, type]),
      this.run<{ name: string; attribute_types: string[] }>(
        this.db,
        `SELECT a.key AS name, array_agg(DISTINCT i->>'type') AS attribute_types
         FROM entities CROSS JOIN LATERAL jsonb_each(attrs) AS a CROSS JOIN LATERAL jsonb_array_elements(a.value) AS i
         WHERE tenant = $1 AND $2 = ANY(types) GROUP BY a.key ORDER BY a.key`,
        [tenant, type],
      ),
    ]);
    const entityCount = Number(count[0].n);
    if (entityCount === 0) return undefined;
    return { entityCount, attributes: attrs.map((r) => ({ name: r.name, attributeTypes: r.attribute_types })) };
  }

  async listAttributes(tenant: string): Promise<AttributeSummary[]> {
    const rows = await this.run<{ name: string; type_names: string[] }>(
      this.db,
      `SELECT k AS name, array_agg(DISTINCT t) AS type_names
       FROM entities CROSS JOIN LATERAL jsonb_object_keys(attrs) AS k CROSS JOIN LATERAL unnest(types) AS t
       WHERE tenant = $1 GROUP BY k ORDER BY k`,
      [tenant],
    );
    return rows.map((r) => ({ name: r.name, typeNames: r.type_names }));
  }

  async attributeDetails(tenant: string, name: string): Promise<AttributeDetails | undefined> {
    const rows = await this.run<{ n: string; attribute_types: string[] | null; type_names: string[] | null }>(
      this.db,
      `WITH having_it AS (SELECT entity_id AS id FROM entity_attrs WHERE tenant = $1 AND attr = $2)
       SELECT count(i) AS n, array_agg(DISTINCT i->>'type') AS attribute_types,
              (SELECT array_agg(DISTINCT t) FROM entities e2 CROSS JOIN LATERAL unnest(e2.types) AS t WHERE e2.tenant = $1 AND e2.id IN (SELECT id FROM having_it)) AS type_names
       FROM entities CROSS JOIN LATERAL jsonb_array_elements(attrs -> $2) AS i
       WHERE tenant = $1 AND id IN (SELECT id FROM having_it)`,
      [tenant, name],
    );
    const count = Number(rows[0]?.n ?? 0);
    if (count === 0) return undefined;
    return { name, attributeCount: count, attributeTypes: rows[0].attribute_types ?? [], typeNames: rows[0].type_names ?? [] };
  }

  historyEntities(tenant: string, selection: HistorySelection, limit: number, offset: number, descending = false): Promise<Array<{ id: string; types: string[] }>> {
    return this.guard(() => historyEntities(this.db, tenant, selection, limit, offset, descending));
  }

  historyEntityCount(tenant: string, selection: HistorySelection): Promise<number> {
    return this.guard(() => historyEntityCount(this.db, tenant, selection));
  }

  historyMatchingEntities(tenant: string, selection: HistorySelection, filters: HistoryFilters, cap: number): Promise<string[]> {
    return this.guard(() => historyMatchingEntities(this.db, tenant, selection, filters, cap));
  }

  historyInstances(tenant: string, selection: HistorySelection, take?: InstanceTake): Promise<HistoryInstance[]> {
    return this.guard(() => historyInstances(this.db, tenant, selection, take));
  }

  historyAggregates(tenant: string, selection: HistorySelection, methods: AggregationMethod[], periodSeconds?: number): Promise<AggregateRow[]> {
    return this.guard(() => historyAggregates(this.db, tenant, selection, methods, periodSeconds));
  }

  async appendHistory(
    tenant: string,
    entityId: string,
    types: string[] | undefined,
    added: NewHistoryInstance[],
    options: MutateOptions & { replaceObserved?: boolean } = {},
  ): Promise<{ existed: boolean }> {
    try {
      return await this.db.transaction(async (tx) => {
        await this.checkTenant(tx, tenant, options.createTenant ?? false);
        // Serialises writers of one entity's history, so that "existed" is exact.
        await tx.query('SELECT pg_advisory_xact_lock(hashtext($1 || $2))', [tenant, entityId]);
        const current = await historyTypes(tx, tenant, entityId);
        if (!current && !types) throw notFound(`Entity ${entityId} has no history`);
        const merged = [...new Set([...(current ?? []), ...(types ?? [])])];
        await appendHistory(tx, tenant, entityId, merged, added, options.replaceObserved);
        return { existed: current !== undefined };
      });
    } catch (e) {
      throw this.translate(e);
    }
  }

  pruneHistory(before: string): Promise<number> {
    return this.guard(() => pruneHistory(this.db, before, 5_000));
  }

  deleteHistory(tenant: string, entityId: string, deletion: HistoryDeletion): Promise<number> {
    return this.guard(() => deleteHistory(this.db, tenant, entityId, deletion));
  }

  replaceHistoryInstance(tenant: string, entityId: string, attr: string, instanceId: string, instance: AttributeInstance): Promise<boolean> {
    return this.guard(() => replaceHistoryInstance(this.db, tenant, entityId, attr, instanceId, instance));
  }

  /** Runs a read, its database errors translated. */
  private guard<R>(read: () => Promise<R>): Promise<R> {
    return this.track(
      (async () => {
        try {
          return await read();
        } catch (e) {
          throw this.translate(e);
        }
      })(),
    );
  }

  /** Closes the connections once every operation accepted has settled (those it sets off included). */
  async close(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    this.stopHearingRevisions();
    await this.stopListening?.();
    await this.db.close();
  }

  private run<R>(db: SqlExecutor, sql: string | Statement, params: unknown[]): Promise<R[]> {
    return this.guard(() => db.query<R>(sql, params));
  }

  /** Database errors become NGSI-LD errors; the SQL stays in the log, never in a response. */
  private translate(e: unknown): unknown {
    if (e instanceof NgsiError) return e;
    const code = (e as { code?: string }).code;
    if (code === INVALID_REGEX) return badRequest(`Invalid regular expression: ${(e as Error).message}`);
    console.error('Store error', e);
    return new NgsiError('InternalError', 'The store failed to complete the operation');
  }
}
