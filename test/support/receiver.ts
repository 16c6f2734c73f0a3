/**
 * A notification endpoint for tests: a real HTTP server that records what it
 * receives and answers as told (status, delay, or never).
 */
import { createServer, IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
}

export class Receiver {
  readonly received: Received[] = [];
  /** Answer to the next requests: a status (default 200), or a promise to wait for first. */
  status = 200;
  hold?: Promise<void>;
  private server!: Server;
  private scheme = 'http';
  private waiters: Array<() => void> = [];

  /** With `tls` (a key and certificate in PEM), an HTTPS endpoint. */
  static async start(tls?: { key: string; cert: string }): Promise<Receiver> {
    const r = new Receiver();
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      let text = '';
      req.on('data', (d) => (text += d));
      req.on('end', async () => {
        r.received.push({ path: req.url ?? '', headers: req.headers, body: text ? JSON.parse(text) : undefined });
        for (const w of r.waiters.splice(0)) w();
        if (r.hold) await r.hold;
        res.statusCode = r.status;
        res.end();
      });
    };
    r.server = tls ? createTlsServer(tls, handle) : createServer(handle);
    r.scheme = tls ? 'https' : 'http';
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', () => resolve()));
    return r;
  }

  url(path = '/notify'): string {
    return `${this.scheme}://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  /** Notifications received on `path` (all paths when omitted). */
  on(path?: string): Received[] {
    return path === undefined ? this.received : this.received.filter((r) => r.path === path);
  }

  /** Waits until `count` notifications arrived on `path`; fails after `timeoutMs`. */
  async waitFor(path: string | undefined, count: number, timeoutMs = 10_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.on(path).length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Expected ${count} notifications on ${path ?? 'any path'}, got ${this.on(path).length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.on(path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Waits for `ms` milliseconds: for checking that nothing arrives. */
export const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns without throwing. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await settle(50);
    }
  }
}
