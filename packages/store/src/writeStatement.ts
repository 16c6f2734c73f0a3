/**
 * Everything a mutation writes, as one SQL statement: the entities
 * (inserted, upserted, deleted), their rows in entity_values and entity_geo,
 * the outbox changes and the attribute history (with its types noted). One round trip whatever the number of entities;
 * the side tables are computed from the rows the statement itself writes,
 * and the side rows of the entities it deletes go with them. An
 * update rewrites the side-table rows of the attributes whose indexed
 * content changed only: a device that sends one measure leaves the rows of
 * its location and of its other attributes alone.
 *
 * The statement commits on its own, and checks what it overwrites: each
 * entity row carries a version, and an upsert or delete of a row whose
 * version is no longer the one read (another process wrote the entity in
 * between), or an upsert that meets an entity that was not there when read,
 * makes the whole statement fail with a serialization failure, to be
 * written again from a fresh read. Optimistic rather than locked: a locked
 * read needs a transaction around it, and its BEGIN and COMMIT were two of
 * the four round trips of every write. A row created gets the first version
 * of a life of its own (LIFE_START, migration 18); each write after adds
 * one. A write planned from what the process kept rather than read (see
 * EntityCache) also names the subscription revision it assumed ($17):
 * another revision fails it as well, since whether the tenant had
 * subscriptions decided what it sends for the outbox.
 */
import { AttributeInstance, HistoryRecord, historyRecords, nowIso, sameJson, StoredEntity } from '@civitas/core';
import { entitiesParam } from './entityRows';
import { INSERT_VALUES, VALUE_SOURCE } from './migrations';
import { statement } from './driver';
import type { Intermediates } from './store';

const recordset = (param: string, extra = '') =>
  `jsonb_to_recordset(${param}::jsonb) AS x(id text, types text[], scope text[], created_at timestamptz, modified_at timestamptz,
    expires_at timestamptz, attrs_expire_at timestamptz, attrs jsonb${extra})`;

/** Every column of an entity row from the row proposed for insertion. */
const REPLACE_ALL = `types = excluded.types, scope = excluded.scope, created_at = excluded.created_at, modified_at = excluded.modified_at,
      expires_at = excluded.expires_at, attrs_expire_at = excluded.attrs_expire_at, attrs = excluded.attrs`;

/** The first version of a new life of an entity row: 2^20 versions apart, a million writes before two lives could meet. */
const LIFE_START = `nextval('entity_lives') * 1048576`;

/** A timestamptz as NGSI-LD writes date-times. */
const isoTime = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Whether an attribute's side-table rows are rewritten: every one of an entity absent from $9, else those $9 lists for it. */
const refreshed = (id: string, attr: string) => `(NOT ($9::jsonb ? ${id}) OR ($9::jsonb -> ${id}) ? ${attr})`;

export const WRITE_STATEMENT = statement('write', `
WITH
  -- A tenant that a create names comes into being with its first entity ($12).
  new_tenant AS (INSERT INTO tenants (name) SELECT $1 WHERE $12 ON CONFLICT DO NOTHING),
  inserted AS (
    INSERT INTO entities (tenant, id, types, scope, created_at, modified_at, expires_at, attrs_expire_at, attrs, version)
    SELECT $1, x.id, x.types, x.scope, x.created_at, x.modified_at, x.expires_at, x.attrs_expire_at, x.attrs, ${LIFE_START} FROM ${recordset('$2')}
    -- An entity past its expiry that the sweep has not removed yet is no longer there (4.22): the insert takes its place.
    ON CONFLICT (tenant, id) DO UPDATE SET ${REPLACE_ALL}, version = entities.version + 1 WHERE entities.expires_at <= now()
    RETURNING tenant, id, types, modified_at, attrs, version
  ),
  upserted AS (
    -- The version proposed is the one read plus one (a new life's first for an entity that was not there): a row found with
    -- another is left alone.
    INSERT INTO entities (tenant, id, types, scope, created_at, modified_at, expires_at, attrs_expire_at, attrs, version)
    SELECT $1, x.id, x.types, x.scope, x.created_at, x.modified_at, x.expires_at, x.attrs_expire_at, x.attrs, coalesce(x.version + 1, ${LIFE_START})
    FROM ${recordset('$3', ', version bigint')}
    ON CONFLICT (tenant, id) DO UPDATE SET ${REPLACE_ALL}, version = excluded.version WHERE entities.version = excluded.version - 1
    RETURNING tenant, id, types, modified_at, attrs, version
  ),
  deleted AS (
    DELETE FROM entities WHERE tenant = $1 AND id = ANY($4::text[]) AND version = ($11::jsonb ->> id)::bigint RETURNING id
  ),
  written AS (SELECT * FROM inserted UNION ALL SELECT * FROM upserted),
  touched AS (SELECT id FROM written UNION ALL SELECT id FROM deleted),
  -- The written entities with side rows to rewrite: an update that changes no indexed content (a measure equal to the last,
  -- a replace with the same values) is left out before its attributes are taken apart or its rows looked up.
  refreshing AS (SELECT * FROM written WHERE NOT ($9::jsonb ? id) OR jsonb_array_length($9::jsonb -> id) > 0),
  -- The entities whose side rows may go: those refreshing (the rows of their changed attributes) and those deleted (all).
  stale AS (SELECT id FROM refreshing UNION ALL SELECT id FROM deleted),
  -- = ANY(ARRAY(...)) makes the ids an index condition: the generic plan of a join with written would scan the tenant's rows.
  stale_values AS (
    DELETE FROM entity_values v WHERE tenant = $1 AND entity_id = ANY(ARRAY(SELECT id FROM stale)) AND ${refreshed('v.entity_id', 'v.attr')}
  ),
  stale_geo AS (
    DELETE FROM entity_geo g WHERE tenant = $1 AND entity_id = ANY(ARRAY(SELECT id FROM stale)) AND ${refreshed('g.entity_id', 'g.attr')}
  ),
  new_values AS (
    ${INSERT_VALUES} FROM refreshing e ${VALUE_SOURCE} AND ${refreshed('e.id', 'a.key')}
  ),
  new_geo AS (
    INSERT INTO entity_geo (tenant, entity_id, attr, geom)
    SELECT e.tenant, e.id, a.key, ST_SetSRID(ST_GeomFromGeoJSON(i ->> 'value'), 4326)
    FROM refreshing e CROSS JOIN LATERAL jsonb_each(e.attrs) AS a CROSS JOIN LATERAL jsonb_array_elements(a.value) AS i
    WHERE i ->> 'type' = 'GeoProperty' AND ${refreshed('e.id', 'a.key')}
  ),
  -- Attribute names, for the entities whose set of names changed ($10): the ones gone are removed, the new ones added;
  -- a deleted entity's all go.
  stale_names AS (
    DELETE FROM entity_attrs a
    WHERE a.tenant = $1 AND a.entity_id = ANY(ARRAY(SELECT id FROM written WHERE id = ANY($10::text[]) UNION ALL SELECT id FROM deleted))
      AND NOT EXISTS (SELECT 1 FROM written e WHERE e.id = a.entity_id AND e.attrs ? a.attr)
  ),
  new_names AS (
    INSERT INTO entity_attrs (tenant, entity_id, attr)
    SELECT e.tenant, e.id, k FROM written e CROSS JOIN LATERAL jsonb_object_keys(e.attrs) AS k WHERE e.id = ANY($10::text[])
    ON CONFLICT DO NOTHING
  ),
  history AS (
    -- The instances this write touched carry its time; the others keep an older one.
    INSERT INTO attribute_history (tenant, entity_id, entity_types, attr, dataset_id, observed_at, created_at, modified_at, instance)
    SELECT e.tenant, e.id, e.types, a.key, i ->> 'datasetId', (i ->> 'observedAt')::timestamptz,
           (i ->> 'createdAt')::timestamptz, (i ->> 'modifiedAt')::timestamptz, i
    FROM written e CROSS JOIN LATERAL jsonb_each(e.attrs) AS a CROSS JOIN LATERAL jsonb_array_elements(a.value) AS i
    WHERE $6 AND (i ->> 'modifiedAt')::timestamptz = e.modified_at
  ),
  records AS (
    -- Deletions, scope changes and the instances of intermediate states (computed by writeParams from the states before, between and after).
    INSERT INTO attribute_history (tenant, entity_id, entity_types, attr, dataset_id, observed_at, created_at, modified_at, deleted_at, instance)
    SELECT $1, d.id, d.types, d.attr, d.instance ->> 'datasetId', (d.instance ->> 'observedAt')::timestamptz,
           (d.instance ->> 'createdAt')::timestamptz, (d.instance ->> 'modifiedAt')::timestamptz, (d.instance ->> 'deletedAt')::timestamptz, d.instance
    FROM jsonb_to_recordset($7::jsonb) AS d(id text, inserted boolean, types text[], attr text, instance jsonb)
    -- An insert that met an existing entity wrote nothing, so records nothing.
    WHERE $6 AND (NOT d.inserted OR d.id IN (SELECT id FROM inserted))
  ),
  -- The types of the history's entities (migration 20): those of the entities created or given a type they did not have
  -- ($18), history or not, so that an entity's history finds its types noted whenever it is written; and those of the
  -- intermediate states recorded, which no write of the entity itself may have held.
  noted_types AS (
    INSERT INTO history_types (tenant, type, entity_id)
    SELECT $1, t, s.id
    -- UNION: one probe per entity and set of types, however many records name them.
    FROM (SELECT id, types FROM written WHERE id = ANY($18::text[])
          UNION SELECT d.id, d.types FROM jsonb_to_recordset($7::jsonb) AS d(id text, types text[]) WHERE $6) AS s
    CROSS JOIN LATERAL unnest(s.types) AS t
    ON CONFLICT DO NOTHING
  ),
  changes AS (
    -- Leased to the process that writes them ($8, for $14 seconds) when its notifier takes them; otherwise claimable by any.
    INSERT INTO outbox (tenant, entity_id, before, after, owner, locked_until)
    SELECT $1, c.id, c.before, c.after, $8, now() + make_interval(secs => $14)
    FROM jsonb_to_recordset($5::jsonb) AS c(id text, inserted boolean, before jsonb, after jsonb)
    WHERE (NOT c.inserted OR c.id IN (SELECT id FROM inserted))
      AND EXISTS (SELECT 1 FROM subscriptions WHERE tenant = $1)
    RETURNING seq, entity_id, changed_at
  ),
  -- The other processes on this database drop these entities from their caches (see EntityCache); ids too many for one
  -- announcement (at most 8,000 bytes) drop the whole tenant's. Sent on commit, with nothing if the statement fails.
  announced AS (
    SELECT pg_notify($15, (CASE WHEN octet_length(a.ids::text) < 7000 THEN jsonb_build_object('o', $16::text, 't', $1::text, 'ids', a.ids)
                                ELSE jsonb_build_object('o', $16::text, 't', $1::text) END)::text)
    FROM (SELECT jsonb_agg(id) AS ids FROM touched) AS a
    WHERE $15::text IS NOT NULL AND a.ids IS NOT NULL
  )
SELECT
  (SELECT coalesce(array_agg(id), '{}') FROM inserted) AS inserted,
  -- Versions as text, as every read gives them: a bigint may pass what a JavaScript number keeps exactly.
  (SELECT coalesce(jsonb_object_agg(id, version::text), '{}') FROM written) AS versions,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('seq', seq, 'id', entity_id, 'at', ${isoTime('changed_at')})), '[]') FROM changes) AS changes,
  (SELECT revision FROM subscription_revision) AS revision,
  (SELECT count(*) FROM announced) AS announced,
  -- Something read has changed since (or, with $13, an entity to insert has appeared): nothing of this is kept.
  CASE WHEN (SELECT count(*) FROM upserted) < jsonb_array_length($3::jsonb)
         OR (SELECT count(*) FROM deleted) < cardinality($4::text[])
         OR ($13 AND (SELECT count(*) FROM inserted) < jsonb_array_length($2::jsonb))
         OR $17::bigint <> (SELECT revision FROM subscription_revision)
       THEN civitas_write_conflict() END AS conflict`);

/** The entities a write changes, and what the store read of them. */
export interface WriteSet {
  inserts: StoredEntity[];
  upserts: StoredEntity[];
  deletes: string[];
  /** The version of every entity row read, by id (expired ones included), to check against what is overwritten. */
  versions: Map<string, string>;
  /** Create the tenant if it does not exist. */
  createTenant: boolean;
  /** An insert that meets an existing entity fails the whole write (to be tried again as an update) rather than being reported. */
  strictInserts: boolean;
  /** Planned from kept states rather than a read: the subscription revision that the outbox decision assumed. */
  assumedRevision?: string;
}

/** What a write records besides the entities. */
export interface WriteRecords {
  /** Attribute history: the instances written, deletion records for those removed, scope records. */
  history: boolean;
  /** Every change the write makes, step by step (see outboxChanges). */
  steps: OutboxChange[];
  /** The steps go to the outbox, for the notifier: only while the tenant has subscriptions (see READ_FOR_WRITE). */
  outbox: boolean;
  /** The lease the outbox rows are written with (see ChangeFeed); none leaves them to any notifier. */
  lease?: { owner: string; seconds: number };
  /** Where the entities written are announced to other processes' caches, and who announces them (see EntityAnnouncements). */
  announce?: { channel: string; owner: string };
}

/** An entity change as the outbox records it: the states before and after (null: absent), and whether it is an insert. */
export interface OutboxChange {
  id: string;
  inserted: boolean;
  before: StoredEntity | null;
  after: StoredEntity | null;
}

/**
 * Every change a write makes, each entity's in order: from the state read
 * (null: absent) through its intermediates to the state written (null:
 * deleted). An insert's steps count as the insert: should it meet an
 * existing entity, none of them happened.
 */
export function outboxChanges(
  before: Map<string, StoredEntity>,
  { inserts, upserts, deletes, intermediates }: Pick<WriteSet, 'inserts' | 'upserts' | 'deletes'> & { intermediates: Intermediates },
): OutboxChange[] {
  const chain = (id: string, inserted: boolean, first: StoredEntity | null, last: StoredEntity | null): OutboxChange[] => {
    const states = [first, ...(intermediates.get(id) ?? []), last];
    const out: OutboxChange[] = [];
    for (let n = 1; n < states.length; n++) if (states[n - 1] || states[n]) out.push({ id, inserted, before: states[n - 1], after: states[n] });
    return out;
  };
  return [
    ...inserts.flatMap((e) => chain(e.id, true, null, e)),
    ...upserts.flatMap((e) => chain(e.id, false, before.get(e.id) ?? null, e)),
    ...deletes.filter((id) => before.has(id)).flatMap((id) => chain(id, false, before.get(id)!, null)),
  ];
}

/**
 * The history records the statement cannot derive from the entities it
 * writes: deletion records for the instances each step removes, scope
 * records, and the instances an intermediate state wrote that a later step
 * replaced (the statement records those of the final state).
 */
function historyExtra(written: StoredEntity[], steps: OutboxChange[], now: string): Array<HistoryRecord & { id: string; inserted: boolean; types: string[] }> {
  const finals = new Map<string, StoredEntity>(written.map((e) => [e.id, e]));
  return steps.flatMap(({ id, inserted, before: was, after: is }) => {
    const types = (is ?? was)!.types;
    const out: HistoryRecord[] = historyRecords(was ?? undefined, is ?? undefined, is?.modifiedAt ?? now);
    const last = finals.get(id);
    if (is && is !== last) {
      // Instances are new objects where a step wrote them, shared where it left them alone.
      for (const [attr, instances] of Object.entries(is.attrs)) {
        for (const instance of instances) {
          if (!was?.attrs[attr]?.includes(instance) && !last?.attrs[attr]?.includes(instance)) out.push({ attr, instance });
        }
      }
    }
    return out.map((r) => ({ id, inserted, types, ...r }));
  });
}

/**
 * The parameters of WRITE_STATEMENT. With history on, the attribute
 * instances a write removes become deletion records, and a changed scope a
 * scope record.
 */
export function writeParams(
  tenant: string,
  before: Map<string, StoredEntity>,
  { inserts, upserts, deletes, versions, createTenant, strictInserts, assumedRevision }: WriteSet,
  { history, steps, outbox, lease, announce }: WriteRecords,
): unknown[] {
  const extra = history ? historyExtra([...inserts, ...upserts], steps, nowIso()) : [];
  return [
    tenant,
    entitiesParam(inserts),
    // In id order, as concurrent writers then take the row locks: they cannot deadlock on each other.
    entitiesParam([...upserts].sort((a, b) => (a.id < b.id ? -1 : 1)), versions),
    deletes,
    JSON.stringify(outbox ? steps : []),
    history,
    JSON.stringify(extra),
    lease?.owner ?? null,
    JSON.stringify(indexRefresh(before, upserts)),
    namesChanged(before, [...inserts, ...upserts]),
    JSON.stringify(Object.fromEntries(deletes.map((id) => [id, versions.get(id) ?? null]))),
    createTenant,
    strictInserts,
    lease?.seconds ?? 0,
    announce?.channel ?? null,
    announce?.owner ?? null,
    assumedRevision ?? null,
    typesNew(before, [...inserts, ...upserts]),
  ];
}

/** The written entities that are new or hold a type they did not have before (whose types the history notes). */
export function typesNew(before: Map<string, StoredEntity>, written: StoredEntity[]): string[] {
  return written
    .filter((e) => {
      const was = before.get(e.id);
      return !was || e.types.some((t) => !was.types.includes(t));
    })
    .map((e) => e.id);
}

/** The written entities whose set of attribute names is new (created ones) or changed. */
export function namesChanged(before: Map<string, StoredEntity>, written: StoredEntity[]): string[] {
  return written
    .filter((e) => {
      const was = before.get(e.id);
      if (!was) return true;
      const names = Object.keys(e.attrs);
      return names.length !== Object.keys(was.attrs).length || names.some((n) => !(n in was.attrs));
    })
    .map((e) => e.id);
}

/**
 * For each upserted entity that existed, the attributes whose rows in
 * entity_values or entity_geo change (added and removed ones included). An
 * entity left out (an insert, or an upsert that creates) has all its rows
 * rewritten.
 */
export function indexRefresh(before: Map<string, StoredEntity>, upserts: StoredEntity[]): Record<string, string[]> {
  const refresh: Record<string, string[]> = {};
  for (const e of upserts) {
    const was = before.get(e.id);
    if (!was) continue;
    const changed: string[] = [];
    for (const [attr, instances] of Object.entries(e.attrs)) {
      const old = was.attrs[attr];
      if (!old || !sameIndexedContent(old, instances)) changed.push(attr);
    }
    for (const attr of Object.keys(was.attrs)) if (!(attr in e.attrs)) changed.push(attr);
    refresh[e.id] = changed;
  }
  return refresh;
}

/** Whether two attributes' instances give the side tables the same rows (see VALUE_SOURCE and new_geo): same types and content. */
function sameIndexedContent(a: AttributeInstance[], b: AttributeInstance[]): boolean {
  if (a.length !== b.length) return false;
  for (let n = 0; n < a.length; n++) {
    const x = a[n];
    const y = b[n];
    if (x.type !== y.type) return false;
    for (const member of CONTENT) if (!sameJson(x[member], y[member])) return false;
  }
  return true;
}

const CONTENT = ['value', 'object', 'vocab', 'valueList', 'objectList', 'json'] as const;
