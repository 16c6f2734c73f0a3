export { createApp, API_BASE } from './app';
export { configFromEnv, type BrokerConfig } from './config';
export { startBroker, consoleLogger, type RunningBroker } from './server';
export type { BrokerDeps, ContextService, Logger } from './deps';
