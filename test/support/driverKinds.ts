/**
 * The SQL drivers the store's own tests run on: embedded PGlite always,
 * PostgreSQL too when DATABASE_URL is set (in a fresh schema, dropped by
 * `cleanup`). Each test migrates what it opens; an embedded one starts from
 * the run's migrated template unless `empty` asks for a database without
 * migrations (some ten seconds more), as a test of a migration needs.
 */
import type { SqlDriver } from '../../packages/store/src/driver';
import { openPgDriver } from '../../packages/store/src/pgDriver';
import { openPgliteDriver } from '../../packages/store/src/pgliteDriver';
import { dropSchema, freshSchemaName } from './schemas';
import { pgliteTemplate } from './pgliteTemplate';

export interface DriverKind {
  name: 'embedded' | 'postgres';
  open(empty?: boolean): Promise<{ driver: SqlDriver; cleanup(): Promise<void>; schema?: string }>;
}

/** The drivers, a PostgreSQL schema named after `prefix`. */
export function driverKinds(prefix: string): DriverKind[] {
  const url = process.env.DATABASE_URL;
  const kinds: DriverKind[] = [{ name: 'embedded', open: async (empty) => ({ driver: await openPgliteDriver(undefined, empty ? undefined : pgliteTemplate()), cleanup: async () => undefined }) }];
  if (url) {
    kinds.push({
      name: 'postgres',
      open: async () => {
        const schema = freshSchemaName(prefix);
        return { driver: await openPgDriver(url, schema), schema, cleanup: () => dropSchema(url, schema) };
      },
    });
  }
  return kinds;
}
