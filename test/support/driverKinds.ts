/**
 * The SQL drivers the store's own tests run on: embedded PGlite always,
 * PostgreSQL too when DATABASE_URL is set (in a fresh schema, dropped by
 * `cleanup`). Unmigrated: each test migrates what it opens.
 */
import type { SqlDriver } from '../../packages/store/src/driver';
import { openPgDriver } from '../../packages/store/src/pgDriver';
import { openPgliteDriver } from '../../packages/store/src/pgliteDriver';
import { dropSchema, freshSchemaName } from './schemas';
import { pgliteTemplate } from './pgliteTemplate';

export interface DriverKind {
  name: 'embedded' | 'postgres';
  open(): Promise<{ driver: SqlDriver; cleanup(): Promise<void>; schema?: string }>;
}

/** The drivers, a PostgreSQL schema named after `prefix`. */
export function driverKinds(prefix: string): DriverKind[] {
  const url = process.env.DATABASE_URL;
  const kinds: DriverKind[] = [{ name: 'embedded', open: async () => ({ driver: await openPgliteDriver(undefined, pgliteTemplate()), cleanup: async () => undefined }) }];
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
