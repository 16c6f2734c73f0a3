export * from './store';
export { openStore, type StoreOptions } from './openStore';
export type { SqlDriver, SqlExecutor } from './driver';
export * from './notifications';
export type { CommittedChanges } from './changeFeed';
export * from './history';
export * from './provisioning';
export * from './registrations';
