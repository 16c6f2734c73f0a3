export * from './store';
export { openStore, type StoreOptions } from './openStore';
export type { SqlDriver, SqlExecutor } from './driver';
export * from './notifications';
export * from './history';
export * from './provisioning';
export * from './registrations';
