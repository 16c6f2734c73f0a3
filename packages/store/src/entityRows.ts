/** Entity <-> row mapping, shared by every statement that reads or writes entities. */
import type { StoredEntity } from '@civitas/core';

/** Columns of an entity as SELECTed, timestamps rendered back exactly as NGSI-LD writes them. */
export const ENTITY_COLUMNS = `id, types, scope, attrs,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at,
  to_char(modified_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS modified_at,
  to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS expires_at`;

/** An entity row that has not expired (4.22): expired ones are gone for every read, swept or not yet. */
export const LIVE_ENTITY = '(expires_at IS NULL OR expires_at > now())';

export interface EntityRow {
  id: string;
  types: string[];
  scope: string[] | null;
  attrs: StoredEntity['attrs'] | string;
  created_at: string;
  modified_at: string;
  expires_at: string | null;
}

export function rowToEntity(row: EntityRow): StoredEntity {
  const entity: StoredEntity = {
    id: row.id,
    types: row.types,
    createdAt: row.created_at,
    modifiedAt: row.modified_at,
    attrs: typeof row.attrs === 'string' ? JSON.parse(row.attrs) : row.attrs,
  };
  if (row.scope) entity.scope = row.scope;
  if (row.expires_at) entity.expiresAt = expiryAsRead(row.expires_at);
  return entity;
}

/** Written back without a fraction of zeros, as a client usually gives it. */
const expiryAsRead = (microseconds: string) => microseconds.replace(/\.?0+Z$/, 'Z');

/** A date-time as ENTITY_COLUMNS renders it: UTC, six digits of fraction. */
const AS_READ = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

/**
 * Whether an entity as written would read back with the same timestamps
 * (what the entity cache may keep in place of a read): its createdAt and
 * modifiedAt as the broker writes them, and its expiresAt as rowToEntity
 * renders it.
 */
export function readsBackAsWritten(e: StoredEntity): boolean {
  if (!AS_READ.test(e.createdAt) || !AS_READ.test(e.modifiedAt)) return false;
  if (e.expiresAt === undefined) return true;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?Z$/.exec(e.expiresAt);
  return m !== null && expiryAsRead(`${m[1]}.${(m[2] ?? '').padEnd(6, '0')}Z`) === e.expiresAt;
}

/**
 * Many entities as one JSON parameter, unpacked by jsonb_to_recordset: one
 * statement writes any number of entities. Rows of one literal shape: an
 * object spread into each made them several times slower to serialise.
 */
export function entitiesParam(entities: StoredEntity[], versions?: Map<string, string>): string {
  const rows = new Array<Record<string, unknown>>(entities.length);
  for (let n = 0; n < entities.length; n++) {
    const e = entities[n];
    rows[n] = {
      id: e.id,
      types: e.types,
      scope: e.scope ?? null,
      created_at: e.createdAt,
      modified_at: e.modifiedAt,
      expires_at: e.expiresAt ?? null,
      attrs_expire_at: firstAttributeExpiry(e),
      attrs: e.attrs,
      // The version read, for the statement to check (none: the entity was not there).
      version: versions?.get(e.id) ?? null,
    };
  }
  return JSON.stringify(rows);
}

/** When the first transient attribute instance of an entity expires; null when it has none. */
function firstAttributeExpiry(e: StoredEntity): string | null {
  let first: string | null = null;
  for (const attr in e.attrs) {
    for (const i of e.attrs[attr]) if (i.expiresAt && (first === null || Date.parse(i.expiresAt) < Date.parse(first))) first = i.expiresAt;
  }
  return first;
}
