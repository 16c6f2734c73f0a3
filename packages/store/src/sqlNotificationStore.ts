/** NotificationStore on SQL: the same statements on PostgreSQL and on PGlite. */
import { NgsiError, StoredEntity, Subscription } from '@civitas/core';
import type { ChangeFeed, CommittedChanges } from './changeFeed';
import { SqlDriver, SqlExecutor, statement, TransactionOptions } from './driver';
import { ENTITY_COLUMNS, EntityRow, LIVE_ENTITY, rowToEntity } from './entityRows';
import { compileEntityFilter } from './entityQuerySql';
import type {
  ClaimRouter,
  Delivery,
  DeliveryOutcome,
  EntityChange,
  EntityFilter,
  EntityLoader,
  NewDelivery,
  NotificationStore,
  RoutingTools,
  StoredSubscription,
  ThrottleGate,
} from './notifications';

/** A timestamptz as NGSI-LD writes date-times. */
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const SUBSCRIPTION_COLUMNS = `tenant, definition, times_sent, times_failed,
  ${iso('last_notification')} AS last_notification, ${iso('last_success')} AS last_success,
  ${iso('last_failure')} AS last_failure, delivery_status`;

interface SubscriptionRow {
  tenant: string;
  definition: Subscription | string;
  times_sent: string | number;
  times_failed: string | number;
  last_notification: string | null;
  last_success: string | null;
  last_failure: string | null;
  delivery_status: 'ok' | 'failed' | null;
}

const DELIVERY_COLUMNS = `id::text AS id, tenant, subscription_id, notification, attempts, ${iso('created_at')} AS created_at`;

interface DeliveryRow {
  id: string;
  tenant: string;
  subscription_id: string;
  notification: Record<string, unknown> | string;
  attempts: number;
  created_at: string;
}

const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

function toStored(row: SubscriptionRow): StoredSubscription {
  const delivery: StoredSubscription['delivery'] = { timesSent: Number(row.times_sent), timesFailed: Number(row.times_failed) };
  if (row.last_notification) delivery.lastNotification = row.last_notification;
  if (row.last_success) delivery.lastSuccess = row.last_success;
  if (row.last_failure) delivery.lastFailure = row.last_failure;
  if (row.delivery_status) delivery.status = row.delivery_status;
  return { tenant: row.tenant, subscription: json(row.definition), delivery };
}

function toDelivery(row: DeliveryRow): Delivery {
  return {
    id: row.id,
    tenant: row.tenant,
    subscriptionId: row.subscription_id,
    notification: json(row.notification),
    attempts: row.attempts,
    createdAt: row.created_at,
  };
}

/** The parameters of INSERT_DELIVERIES (and the first ones of QUEUE_CHANGES). */
const deliveryParams = (deliveries: NewDelivery[], owner: string, leaseMs: number) => [
  JSON.stringify(deliveries.map((d) => ({ tenant: d.tenant, subscription_id: d.subscriptionId, notification: d.notification }))),
  owner,
  leaseMs / 1000,
];

/** A held delivery was not attempted: it keeps its count. */
const attemptsAfter = (o: DeliveryOutcome): number => o.delivery.attempts + (o.held ? 0 : 1);

/** Queued deliveries in the order they were queued. */
const inOrder = (rows: DeliveryRow[]): Delivery[] => rows.map(toDelivery).sort((a, b) => Number(a.id) - Number(b.id));

/** The first periodic notification is due one interval after the subscription is written. */
const nextPeriodic = (s: Subscription) => (s.timeInterval !== undefined ? new Date(Date.now() + s.timeInterval * 1000).toISOString() : null);

/** A periodic subscription's timeInterval, as an SQL interval. */
const EVERY = `make_interval(secs => (definition ->> 'timeInterval')::double precision)`;

const GET_ENTITIES = statement('get_entities', `SELECT ${ENTITY_COLUMNS} FROM entities WHERE tenant = $1 AND id = ANY($2::text[]) AND ${LIVE_ENTITY}`);

/** Changes no notifier holds: written without a lease, or leased to a process that let its lease run out (it died). */
const CLAIM_CHANGES = statement(
  'claim_changes',
  `SELECT seq, tenant, entity_id, before, after, ${iso('changed_at')} AS changed_at, (SELECT revision FROM subscription_revision) AS revision
   FROM outbox WHERE locked_until IS NULL OR locked_until <= now() ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
);

/** Queues notifications in the order given; a subscription deleted meanwhile takes its notifications with it. */
const insertDeliveriesSql = (before = '') => `${before}
   INSERT INTO deliveries (tenant, subscription_id, notification, owner, locked_until)
   SELECT x.doc ->> 'tenant', x.doc ->> 'subscription_id', x.doc -> 'notification', $2, now() + make_interval(secs => $3)
   FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(doc, n)
   WHERE EXISTS (SELECT 1 FROM subscriptions s WHERE s.tenant = x.doc ->> 'tenant' AND s.id = x.doc ->> 'subscription_id')
   ORDER BY x.n
   RETURNING ${DELIVERY_COLUMNS}`;

const INSERT_DELIVERIES = statement('insert_deliveries', insertDeliveriesSql());

/** The notifications of claimed changes queued, and the changes gone from the outbox, in one round trip. */
const QUEUE_CHANGES = statement('queue_changes', insertDeliveriesSql('WITH done AS (DELETE FROM outbox WHERE seq = ANY($4::bigint[]))'));

/**
 * Attempts recorded in one round trip: sent (or given up) notifications leave
 * the queue; a failed one waits for its retry, leased to nobody, so that any
 * process may take it then; a notification sent straight from its change
 * ($4) that failed joins the queue for its retry; changes whose
 * notifications are all sent or queued leave the outbox ($5); and the
 * subscriptions' status follows (5.2.15: counters add up, the last*
 * timestamps and the status follow the latest attempt).
 */
const RECORD_OUTCOMES = statement(
  'record_outcomes',
  `WITH
     done AS (DELETE FROM deliveries WHERE id = ANY($1::bigint[])),
     retried AS (
       UPDATE deliveries d SET attempts = x.attempts, locked_until = x.retry_at, owner = NULL
       FROM jsonb_to_recordset($2::jsonb) AS x(id bigint, attempts integer, retry_at timestamptz) WHERE d.id = x.id
     ),
     requeued AS (
       INSERT INTO deliveries (tenant, subscription_id, notification, attempts, owner, locked_until, created_at)
       SELECT x.tenant, x.subscription_id, x.notification, x.attempts, NULL, x.retry_at, x.created_at
       FROM jsonb_to_recordset($4::jsonb) AS x(n integer, tenant text, subscription_id text, notification jsonb, attempts integer, retry_at timestamptz, created_at timestamptz)
       WHERE EXISTS (SELECT 1 FROM subscriptions s WHERE s.tenant = x.tenant AND s.id = x.subscription_id)
       -- Ids follow the order given (the order of sending), whatever order the join puts them in.
       ORDER BY x.n
     ),
     settled AS (DELETE FROM outbox WHERE seq = ANY($5::bigint[]))
   UPDATE subscriptions s SET times_sent = s.times_sent + x.sent, times_failed = s.times_failed + x.failed,
     last_notification = greatest(s.last_notification, x.last),
     last_success = greatest(s.last_success, x.last_success),
     last_failure = greatest(s.last_failure, x.last_failure),
     delivery_status = CASE WHEN s.last_notification IS NULL OR x.last >= s.last_notification THEN CASE WHEN x.ok THEN 'ok' ELSE 'failed' END ELSE s.delivery_status END
   FROM jsonb_to_recordset($3::jsonb) AS x(tenant text, id text, sent integer, failed integer, last timestamptz, last_success timestamptz, last_failure timestamptz, ok boolean)
   WHERE s.tenant = x.tenant AND s.id = x.id`,
);

/**
 * The notifier's own writes wait for no disk flush: they are redone when a
 * crash undoes them (notifications are sent at least once), while the
 * outbox rows they start from are written with the entities, durably.
 */
const BOOKKEEPING: TransactionOptions = { asyncCommit: true };

const BUMP_REVISION = 'UPDATE subscription_revision SET revision = revision + 1';

/** What routing needs from the database, on a transaction or on the pool. */
function routingTools(db: SqlExecutor): RoutingTools {
  // Filters see each change's own state, not whatever the entity has become since.
  const filter: EntityFilter = async (tenant, states, query) => {
    const { filter: where, params } = compileEntityFilter(tenant, { ...query, limit: states.length, offset: 0 }, true);
    params.push(JSON.stringify(states.map((e, n) => ({ n, id: e.id, types: e.types, scope: e.scope ?? null, attrs: e.attrs }))));
    const found = await db.query<{ n: number }>(
      `SELECT n FROM (SELECT $1::text AS tenant, x.* FROM jsonb_to_recordset($${params.length}::jsonb) AS x(n integer, id text, types text[], scope text[], attrs jsonb)) AS states
       WHERE ${where}`,
      params,
    );
    return new Set(found.map((r) => Number(r.n)));
  };
  const throttle: ThrottleGate = async (tenant, id, seconds, now) => {
    const granted = await db.query(
      `UPDATE subscriptions SET throttled_until = $3::timestamptz + make_interval(secs => $4)
       WHERE tenant = $1 AND id = $2 AND (throttled_until IS NULL OR throttled_until <= $3::timestamptz) RETURNING 1`,
      [tenant, id, now.toISOString(), seconds],
    );
    return granted.length > 0;
  };
  const load: EntityLoader = async (tenant, ids) => (await db.query<EntityRow>(GET_ENTITIES, [tenant, ids])).map(rowToEntity);
  return { filter, throttle, load };
}

export class SqlNotificationStore implements NotificationStore {
  constructor(
    private readonly db: SqlDriver,
    private readonly feed: ChangeFeed,
  ) {}

  /** A change of subscriptions, told to the rest of the process once committed (see ChangeFeed.onSubscriptionsRevised). */
  private async revising<T>(change: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const result = await this.db.transaction(change);
    this.feed.subscriptionsRevised();
    return result;
  }

  async createSubscription(tenant: string, s: Subscription): Promise<void> {
    await this.revising(async (tx) => {
      await tx.query('INSERT INTO tenants (name) VALUES ($1) ON CONFLICT DO NOTHING', [tenant]);
      const rows = await tx.query(
        `INSERT INTO subscriptions (tenant, id, definition, next_periodic) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant, id) DO NOTHING RETURNING 1`,
        [tenant, s.id, JSON.stringify(s), nextPeriodic(s)],
      );
      if (rows.length === 0) throw new NgsiError('AlreadyExists', `Subscription ${s.id} already exists`);
      await tx.query(BUMP_REVISION);
    });
  }

  async getSubscription(tenant: string, id: string): Promise<StoredSubscription | undefined> {
    const rows = await this.db.query<SubscriptionRow>(`SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE tenant = $1 AND id = $2`, [tenant, id]);
    return rows[0] ? toStored(rows[0]) : undefined;
  }

  async listSubscriptions(tenant: string, limit: number, offset: number): Promise<{ items: StoredSubscription[]; count: number }> {
    const [rows, count] = await Promise.all([
      this.db.query<SubscriptionRow>(
        `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE tenant = $1 ORDER BY created_at, id LIMIT ${Number(limit)} OFFSET ${Number(offset)}`,
        [tenant],
      ),
      this.db.query<{ n: string }>('SELECT count(*) AS n FROM subscriptions WHERE tenant = $1', [tenant]),
    ]);
    return { items: rows.map(toStored), count: Number(count[0].n) };
  }

  async updateSubscription(tenant: string, id: string, change: (current: Subscription) => Subscription): Promise<Subscription | undefined> {
    return this.revising(async (tx) => {
      const rows = await tx.query<{ definition: Subscription | string }>('SELECT definition FROM subscriptions WHERE tenant = $1 AND id = $2 FOR UPDATE', [tenant, id]);
      if (rows.length === 0) return undefined;
      const current = json(rows[0].definition);
      const next = change(current);
      // A new interval starts counting now; throttling restarts with the new definition.
      await tx.query(
        `UPDATE subscriptions SET definition = $3,
           next_periodic = CASE WHEN $4::timestamptz IS NULL THEN NULL WHEN $5 THEN $4::timestamptz ELSE next_periodic END,
           throttled_until = NULL
         WHERE tenant = $1 AND id = $2`,
        [tenant, id, JSON.stringify(next), nextPeriodic(next), next.timeInterval !== current.timeInterval],
      );
      await tx.query(BUMP_REVISION);
      return next;
    });
  }

  async deleteSubscription(tenant: string, id: string): Promise<boolean> {
    return this.revising(async (tx) => {
      const rows = await tx.query('DELETE FROM subscriptions WHERE tenant = $1 AND id = $2 RETURNING 1', [tenant, id]);
      if (rows.length > 0) await tx.query(BUMP_REVISION);
      return rows.length > 0;
    });
  }

  async loadSubscriptions(): Promise<{ revision: number; all: StoredSubscription[] }> {
    // One transaction, so that the revision describes exactly the rows read.
    return this.db.transaction(async (tx) => {
      const revision = await this.revisionIn(tx);
      return { revision, all: await this.subscriptionsIn(tx) };
    });
  }

  private async subscriptionsIn(db: SqlExecutor): Promise<StoredSubscription[]> {
    return (await db.query<SubscriptionRow>(`SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions ORDER BY tenant, id`)).map(toStored);
  }

  subscriptionRevision(): Promise<number> {
    return this.revisionIn(this.db);
  }

  private async revisionIn(db: SqlExecutor): Promise<number> {
    const rows = await db.query<{ revision: string }>(statement('revision', 'SELECT revision FROM subscription_revision'));
    return Number(rows[0].revision);
  }

  async processChanges(limit: number, owner: string, leaseMs: number, route: ClaimRouter): Promise<{ claimed: number; queued: Delivery[] }> {
    // The changes stay in the outbox until this commits; should a crash undo the commit, they are routed again.
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<{ seq: string; tenant: string; entity_id: string; before: unknown; after: unknown; changed_at: string; revision: string }>(CLAIM_CHANGES, [
        limit,
      ]);
      if (rows.length === 0) return { claimed: 0, queued: [] };
      const changes: EntityChange[] = rows.map((r) => {
        const change: EntityChange = { seq: Number(r.seq), tenant: r.tenant, entityId: r.entity_id, changedAt: r.changed_at };
        if (r.before) change.before = json(r.before as StoredEntity);
        if (r.after) change.after = json(r.after as StoredEntity);
        return change;
      });
      const subscriptions = { revision: Number(rows[0].revision), load: () => this.subscriptionsIn(tx) };
      const deliveries = await route(changes, routingTools(tx), subscriptions);
      const queued = await tx.query<DeliveryRow>(QUEUE_CHANGES, [...deliveryParams(deliveries, owner, leaseMs), rows.map((r) => r.seq)]);
      return { claimed: rows.length, queued: inOrder(queued) };
    }, BOOKKEEPING);
  }

  routingTools(): RoutingTools {
    return routingTools(this.db);
  }

  async enqueue(deliveries: NewDelivery[], owner: string, leaseMs: number): Promise<Delivery[]> {
    if (deliveries.length === 0) return [];
    return inOrder(await this.db.query<DeliveryRow>(INSERT_DELIVERIES, deliveryParams(deliveries, owner, leaseMs)));
  }

  async claimDue(limit: number, owner: string, leaseMs: number): Promise<Delivery[]> {
    const rows = await this.db.query<DeliveryRow>(
      `UPDATE deliveries SET owner = $1, locked_until = now() + make_interval(secs => $2)
       WHERE id IN (SELECT id FROM deliveries WHERE locked_until <= now() ORDER BY id LIMIT ${Number(limit)} FOR UPDATE SKIP LOCKED)
       RETURNING ${DELIVERY_COLUMNS}`,
      [owner, leaseMs / 1000],
    );
    return inOrder(rows);
  }

  async renewLeases(owner: string, leaseMs: number): Promise<void> {
    await this.db.query(
      `WITH changes AS (UPDATE outbox SET locked_until = now() + make_interval(secs => $2) WHERE owner = $1 AND locked_until > now())
       UPDATE deliveries SET locked_until = now() + make_interval(secs => $2) WHERE owner = $1 AND locked_until > now()`,
      [owner, leaseMs / 1000],
    );
  }

  async recordOutcomes(outcomes: DeliveryOutcome[], settledChanges: number[] = []): Promise<void> {
    if (outcomes.length === 0 && settledChanges.length === 0) return;
    const queued = outcomes.filter((o) => o.delivery.id !== undefined);
    const done = queued.filter((o) => o.ok || !o.retryAt).map((o) => o.delivery.id);
    const retries = queued
      .filter((o) => !o.ok && o.retryAt)
      .map((o) => ({ id: o.delivery.id, attempts: attemptsAfter(o), retry_at: o.retryAt!.toISOString() }));
    // Sent straight from their change and failed: into the queue, to be tried again there.
    const requeued = outcomes
      .filter((o) => o.delivery.id === undefined && !o.ok && o.retryAt)
      .map((o, n) => ({
        n,
        tenant: o.delivery.tenant,
        subscription_id: o.delivery.subscriptionId,
        notification: o.delivery.notification,
        attempts: attemptsAfter(o),
        retry_at: o.retryAt!.toISOString(),
        created_at: o.delivery.createdAt,
      }));
    const status = new Map<string, { tenant: string; id: string; sent: number; failed: number; last: string; last_success: string | null; last_failure: string | null; ok: boolean }>();
    for (const o of outcomes) {
      if (o.held) continue;
      const key = `${o.delivery.tenant}\u0000${o.delivery.subscriptionId}`;
      const s = status.get(key) ?? { tenant: o.delivery.tenant, id: o.delivery.subscriptionId, sent: 0, failed: 0, last: o.at, last_success: null, last_failure: null, ok: o.ok };
      s.sent += 1;
      if (!o.ok) s.failed += 1;
      if (o.at >= s.last) {
        s.last = o.at;
        s.ok = o.ok;
      }
      if (o.ok && (s.last_success === null || o.at > s.last_success)) s.last_success = o.at;
      if (!o.ok && (s.last_failure === null || o.at > s.last_failure)) s.last_failure = o.at;
      status.set(key, s);
    }
    // An outcome a crash undoes leaves its delivery queued: it is sent again.
    await this.db.bookkeeper.query(RECORD_OUTCOMES, [done, JSON.stringify(retries), JSON.stringify([...status.values()]), JSON.stringify(requeued), settledChanges]);
  }

  async claimPeriodic(now: Date): Promise<StoredSubscription[]> {
    // The next run is counted from the one due, so that intervals do not drift with processing time.
    const rows = await this.db.query<SubscriptionRow>(
      `UPDATE subscriptions SET next_periodic = CASE
         WHEN next_periodic + ${EVERY} > $1::timestamptz THEN next_periodic + ${EVERY} ELSE $1::timestamptz + ${EVERY} END
       WHERE (tenant, id) IN (SELECT tenant, id FROM subscriptions WHERE next_periodic <= $1::timestamptz FOR UPDATE SKIP LOCKED)
       RETURNING ${SUBSCRIPTION_COLUMNS}`,
      [now.toISOString()],
    );
    return rows.map(toStored);
  }

  get leaseOwner(): string {
    return this.feed.owner;
  }

  onCommitted(deliver: (committed: CommittedChanges) => void, leaseMs: number): () => void {
    return this.feed.subscribe(deliver, leaseMs);
  }
}
