/**
 * Runs API tests against a real broker over real HTTP, once per store: the
 * embedded PGlite always, PostgreSQL too when DATABASE_URL is set (each test
 * file in a schema of its own, dropped afterwards).
 */
import { request as httpRequest } from 'node:http';
import { configFromEnv, RunningBroker, startBroker } from '@civitas/broker';
import { openStore, Store, StoreOptions } from '@civitas/store';
import { dropSchema, freshSchemaName } from './schemas';
import { pgliteTemplate } from './pgliteTemplate';

export interface StoreKind {
  name: 'embedded' | 'postgres';
  open(options?: Pick<StoreOptions, 'history'>): Promise<{ store: Store; cleanup(): Promise<void> }>;
}

export function storeKinds(): StoreKind[] {
  const kinds: StoreKind[] = [
    {
      name: 'embedded',
      open: async (options = {}) => {
        const store = await openStore({ ...options, template: pgliteTemplate() });
        return { store, cleanup: () => store.close() };
      },
    },
  ];
  const url = process.env.DATABASE_URL;
  if (url) {
    kinds.push({
      name: 'postgres',
      open: async (options = {}) => {
        const schema = freshSchemaName('test');
        const store = await openStore({ databaseUrl: url, schema, ...options });
        return {
          store,
          cleanup: async () => {
            await store.close();
            await dropSchema(url, schema);
          },
        };
      },
    });
  }
  return kinds;
}

export interface Response {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when there is none. */
  body: any;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is (for malformed bodies). */
  rawBody?: string;
  headers?: Record<string, string>;
  /** The path sent exactly as written: fetch, as any WHATWG URL parser, resolves dot segments (`%2e%2e` too) before sending. */
  pathAsIs?: boolean;
}

interface Received {
  status: number;
  headers: Headers;
  text: string;
}

/** One request through node:http, whose path is sent as given. */
function sendAsIs(base: string, path: string, method: string, headers: Record<string, string>, body?: string): Promise<Received> {
  return new Promise((resolve, reject) => {
    // The path as an option of its own: a URL string would be parsed, dot segments and all.
    const { hostname, port } = new URL(base);
    const req = httpRequest({ hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const received = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) received.set(name, String(value));
        resolve({ status: res.statusCode ?? 0, headers: received, text: Buffer.concat(chunks).toString() });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export class Client {
  constructor(readonly base: string) {}

  async request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['Content-Type'] = 'application/json';
    }
    const fullPath = `/ngsi-ld/v1${path}`;
    const res: Received = options.pathAsIs
      ? await sendAsIs(this.base, fullPath, method, headers, body)
      : await fetch(`${this.base}${fullPath}`, { method, headers, body }).then(async (r) => ({ status: r.status, headers: r.headers, text: await r.text() }));
    let parsed: unknown;
    try {
      parsed = res.text ? JSON.parse(res.text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { ...res, body: parsed };
  }

  get = (path: string, options?: RequestOptions) => this.request('GET', path, options);
  post = (path: string, body: unknown, options?: RequestOptions) => this.request('POST', path, { ...options, body });
  patch = (path: string, body: unknown, options?: RequestOptions) => this.request('PATCH', path, { ...options, body });
  put = (path: string, body: unknown, options?: RequestOptions) => this.request('PUT', path, { ...options, body });
  delete = (path: string, options?: RequestOptions) => this.request('DELETE', path, options);
}

export interface BrokerHarness {
  broker: RunningBroker;
  client: Client;
  store: Store;
}

/**
 * Declares `suite` once per store kind, with a broker on a free port that
 * lives for the whole describe block.
 */
export function describeEachStore(title: string, suite: (h: () => BrokerHarness) => void, env: Record<string, string> = {}): void {
  for (const kind of storeKinds()) {
    describe(`${title} [${kind.name}]`, () => {
      let harness: BrokerHarness | undefined;
      let cleanup: (() => Promise<void>) | undefined;
      beforeAll(async () => {
        const started = await startOn(kind, env);
        cleanup = started.cleanup;
        harness = started.harness;
      });
      afterAll(async () => {
        await harness?.broker.close();
        await cleanup?.();
      });
      suite(() => {
        if (!harness) throw new Error('The broker did not start');
        return harness;
      });
    });
  }
}

/** A broker on a free port over a fresh store of `kind`. */
export async function startOn(kind: StoreKind, env: Record<string, string> = {}): Promise<{ harness: BrokerHarness; cleanup(): Promise<void> }> {
  const config = { ...configFromEnv({ ...env }), port: 0, host: '127.0.0.1' };
  const opened = await kind.open({ history: config.history });
  const broker = await startBroker(config, { store: opened.store, log: quietLogger });
  return { harness: { broker, client: new Client(broker.url), store: opened.store }, cleanup: opened.cleanup };
}

/** Start-up chatter is dropped; unexpected errors are still printed, since a test that hits one should show why. */
export const quietLogger = {
  info: () => undefined,
  error: (e: unknown) => console.error(e),
};

let counter = 0;
/** A fresh entity id per call, so tests in one file do not collide. */
export function uniqueId(type = 'Thing'): string {
  counter += 1;
  return `urn:ngsi-ld:${type}:${Date.now().toString(36)}-${counter}`;
}
