/** Starting and stopping a broker process: store, @context resolver, HTTP listener. */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { openStore, Store } from '@civitas/store';
import { createApp } from './app';
import type { BrokerConfig } from './config';
import { createContextService } from './contextService';
import type { Logger } from './deps';

export interface RunningBroker {
  port: number;
  url: string;
  store: Store;
  close(): Promise<void>;
}

export const consoleLogger: Logger = {
  info: (message) => console.log(message),
  error: (error) => console.error(error),
};

/** Starts the broker; `store` may be given to share one (tests, all-in-one). */
export async function startBroker(config: BrokerConfig, options: { store?: Store; log?: Logger } = {}): Promise<RunningBroker> {
  const log = options.log ?? consoleLogger;
  const store = options.store ?? (await openStore({ databaseUrl: config.databaseUrl, schema: config.databaseSchema, dataDir: config.dataDir }));
  const contexts = createContextService(config);
  const app = createApp({ store, contexts, config, log });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  server.keepAliveTimeout = 65_000;
  const port = (server.address() as AddressInfo).port;
  log.info(`Civitas NGSI-LD API listening on ${config.host}:${port} (store: ${store.driver})`);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    store,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (!options.store) await store.close();
    },
  };
}
