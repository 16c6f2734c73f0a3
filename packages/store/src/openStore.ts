/** Opens the store the configuration asks for: a PostgreSQL server, or the embedded PGlite. */
import type { SqlDriver } from './driver';
import { migrate } from './migrations';
import { openPgDriver } from './pgDriver';
import { openPgliteDriver } from './pgliteDriver';
import { SqlStore } from './sqlStore';
import { ChangeFeed } from './changeFeed';
import { SqlNotificationStore } from './sqlNotificationStore';
import { SqlProvisioningStore } from './sqlProvisioningStore';
import { SqlRegistrationStore } from './sqlRegistrationStore';
import type { Store } from './store';

export interface StoreOptions {
  /** postgres://... for a server; unset for the embedded store. */
  databaseUrl?: string;
  /** Where the embedded store keeps its files; unset keeps it in memory. */
  dataDir?: string;
  /** Embedded store in memory only: a dump of a migrated data directory (migratedTemplate) that it starts from. */
  template?: Blob;
  /** Server store only: keep every table in this schema. */
  schema?: string;
  /** Record attribute history for the temporal API (default true). */
  history?: boolean;
  /** Most entities kept in the entity cache (see EntityCache; default DEFAULT_ENTITY_CACHE); 0 keeps none. */
  entityCache?: number;
}

export async function openStore(options: StoreOptions): Promise<Store> {
  const driver: SqlDriver = options.databaseUrl
    ? await openPgDriver(options.databaseUrl, options.schema)
    : await openPgliteDriver(options.dataDir, options.template);
  try {
    await migrate(driver);
    return storeOn(driver, options.history ?? true, options.entityCache);
  } catch (e) {
    await driver.close();
    throw e;
  }
}

/** The store over a migrated database. */
export function storeOn(driver: SqlDriver, history = true, entityCache?: number): SqlStore {
  const feed = new ChangeFeed();
  return new SqlStore(
    driver,
    feed,
    new SqlNotificationStore(driver, feed),
    new SqlProvisioningStore(driver),
    new SqlRegistrationStore(driver),
    history,
    entityCache,
  );
}
