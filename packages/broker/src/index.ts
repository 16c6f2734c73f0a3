export { createApp, API_BASE } from './app';
export { configFromEnv, type BrokerConfig } from './config';
export { startBroker, consoleLogger, type RunningBroker, type UpsertRequest } from './server';
export type { BatchOutcome, BatchError } from './batch/batch';
export type { BrokerDeps, ContextService, Logger } from './deps';
