/** Starting and stopping a broker process: store, @context resolver, HTTP listener. */
import type { AddressInfo } from 'node:net';
import { createServer, Server } from 'node:http';
import { openStore, Store } from '@civitas/store';
import { hostname } from 'node:os';
import { Notifier } from '@civitas/notifier';
import { createApp } from './app';
import { startFollowing, stopFollowing } from './distributed/subscriptionForwarding';
import { attachWebSocketServer, WEBSOCKET_PATH } from './subscriptions/webSocketServer';
import type { BrokerConfig } from './config';
import { createContextService } from './contextService';
import type { BrokerDeps, Logger } from './deps';
import type { BatchOutcome } from './batch/batch';
import { upsertInProcess } from './batch/handlers';
import { drain } from './http/drain';

export interface RunningBroker {
  port: number;
  url: string;
  store: Store;
  notifier: Notifier;
  /** POST /entityOperations/upsert for callers in this process (see upsertInProcess). */
  upsertEntities(request: UpsertRequest): Promise<BatchOutcome>;
  close(): Promise<void>;
}

export type UpsertRequest = Parameters<typeof upsertInProcess>[1];

export const consoleLogger: Logger = {
  info: (message) => console.log(message),
  error: (error) => console.error(error),
};

/** Prunes attribute history older than the configured retention, now and then periodically. */
function startRetention(store: Store, config: BrokerConfig, log: Logger): NodeJS.Timeout | undefined {
  if (config.historyRetentionDays <= 0) return undefined;
  const prune = () => {
    const before = new Date(Date.now() - config.historyRetentionDays * 86_400_000).toISOString();
    store
      .pruneHistory(before)
      .then((n) => n > 0 && log.info(`Attribute history: ${n} instances older than ${before} removed`))
      .catch((e) => log.error(e));
  };
  prune();
  return setInterval(prune, config.historyPruneMs);
}

/**
 * Deletes expired entities and attribute instances (4.22) every
 * `expirySweepMs`, a batch at a time until none is due. Reads never show
 * what has expired; the sweep makes it gone for subscribers and ids too.
 */
function startExpirySweep(store: Store, config: BrokerConfig, log: Logger): { stop(): Promise<void> } {
  let running = Promise.resolve();
  let stopped = false;
  const batch = 500;
  const sweep = async () => {
    while (!stopped && (await store.expireDue(batch)) >= batch);
  };
  const timer = setInterval(() => {
    running = running.then(sweep).catch((e) => log.error(e));
  }, config.expirySweepMs);
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/** Starts the broker; `store` may be given to share one (tests, all-in-one). */
export async function startBroker(config: BrokerConfig, options: { store?: Store; log?: Logger } = {}): Promise<RunningBroker> {
  const log = options.log ?? consoleLogger;
  const store = options.store ?? (await openStore({ databaseUrl: config.databaseUrl, schema: config.databaseSchema, dataDir: config.dataDir, history: config.history, entityCache: config.entityCache }));
  const contexts = createContextService(config);
  let baseUrl = config.publicUrl;
  const absoluteUrl = (url: string) => (url.startsWith('/') ? `${baseUrl}${url}` : url);
  // Contexts the broker serves itself are linked on its public URL.
  const notifier = new Notifier({ store, resolveContext: (source) => contexts.resolve(source), absoluteUrl, log }, config.notifier);
  const deps: BrokerDeps = { store, notifier, contexts, config, log, absoluteUrl };
  const server: Server = createServer(createApp(deps));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  server.keepAliveTimeout = 65_000;
  const port = (server.address() as AddressInfo).port;
  baseUrl ??= `http://${config.host === '0.0.0.0' || config.host === '::' ? hostname() : config.host}:${port}`;
  const wss = attachWebSocketServer(server, deps);
  await notifier.start();
  const retention = startRetention(store, config, log);
  const expiry = startExpirySweep(store, config, log);
  startFollowing(deps, config.forwardCheckMs);
  log.info(`Civitas NGSI-LD API listening on ${config.host}:${port} (store: ${store.driver}); WebSocket notifications on ${WEBSOCKET_PATH}`);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    store,
    notifier,
    upsertEntities: (request) => upsertInProcess(deps, request),
    close: async () => {
      clearInterval(retention);
      await expiry.stop();
      // WebSocket clients are told the broker is going away; they reattach to another process or after the restart.
      for (const client of wss.clients) client.close(1001, 'The broker is stopping');
      wss.close();
      await drain(server);
      await stopFollowing(deps);
      await notifier.stop();
      if (!options.store) await store.close();
    },
  };
}
