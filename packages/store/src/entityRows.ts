/** Entity <-> row mapping, shared by every statement that reads or writes entities. */
import type { StoredEntity } from '@civitas/core';

/** Columns of an entity as SELECTed, timestamps rendered back exactly as NGSI-LD writes them. */
export const ENTITY_COLUMNS = `id, types, scope, attrs,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at,
  to_char(modified_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS modified_at`;

export interface EntityRow {
  id: string;
  types: string[];
  scope: string[] | null;
  attrs: StoredEntity['attrs'] | string;
  created_at: string;
  modified_at: string;
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
  return entity;
}

/**
 * Many entities as one JSON parameter, unpacked by jsonb_to_recordset: one
 * statement writes any number of entities.
 */
export function entitiesParam(entities: StoredEntity[]): string {
  return JSON.stringify(
    entities.map((e) => ({ id: e.id, types: e.types, scope: e.scope ?? null, created_at: e.createdAt, modified_at: e.modifiedAt, attrs: e.attrs })),
  );
}

