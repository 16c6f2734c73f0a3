/**
 * Remote @context documents: fetched once, kept in a bounded LRU cache for
 * their time-to-live (Cache-Control max-age / Expires, else a default),
 * with a timeout and a size limit on every fetch. Concurrent requests for
 * one URL share a single fetch; a failure is remembered only briefly.
 */
import { NgsiError } from '../errors';

export interface RemoteDocumentOptions {
  timeoutMs: number;
  maxBytes: number;
  maxEntries: number;
  defaultTtlMs: number;
  /** How long a failed fetch is answered from memory, so a dead server is not hammered. */
  failureTtlMs: number;
  /** Status of LdContextNotAvailable (503 up to V1.8, 504 in V1.9.1). */
  unavailableStatus: number;
}

export const DEFAULT_REMOTE_OPTIONS: RemoteDocumentOptions = {
  timeoutMs: 5_000,
  maxBytes: 1024 * 1024,
  maxEntries: 500,
  defaultTtlMs: 60 * 60 * 1000,
  failureTtlMs: 3_000,
  unavailableStatus: 503,
};

interface Entry {
  expires: number;
  value: Promise<unknown>;
}

export class RemoteDocuments {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: RemoteDocumentOptions = DEFAULT_REMOTE_OPTIONS) {}

  /** The parsed JSON document at `url`, and until when it may be reused. */
  async get(url: string): Promise<{ document: unknown; expires: number }> {
    const now = Date.now();
    let entry = this.entries.get(url);
    if (entry && entry.expires > now) {
      // Re-insert to mark it most recently used.
      this.entries.delete(url);
      this.entries.set(url, entry);
    } else {
      entry = this.load(url);
      this.entries.set(url, entry);
      while (this.entries.size > this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    }
    return { document: await entry.value, expires: entry.expires };
  }

  private load(url: string): Entry {
    const entry: Entry = { expires: Number.POSITIVE_INFINITY, value: Promise.resolve() };
    entry.value = this.fetch(url).then(
      ({ document, ttl }) => {
        entry.expires = Date.now() + ttl;
        return document;
      },
      (error) => {
        entry.expires = Date.now() + this.options.failureTtlMs;
        throw error;
      },
    );
    return entry;
  }

  private async fetch(url: string): Promise<{ document: unknown; ttl: number }> {
    if (!/^https?:\/\//i.test(url)) throw new NgsiError('BadRequestData', `@context ${url} is not an http(s) URL`);
    const unavailable = (why: string) => new NgsiError('LdContextNotAvailable', `@context ${url} could not be retrieved: ${why}`, this.options.unavailableStatus);
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { Accept: 'application/ld+json, application/json;q=0.9' },
        signal: AbortSignal.timeout(this.options.timeoutMs),
        redirect: 'follow',
      });
    } catch (e) {
      throw unavailable((e as Error).name === 'TimeoutError' ? `no answer within ${this.options.timeoutMs} ms` : (e as Error).message);
    }
    if (!response.ok) throw unavailable(`HTTP ${response.status}`);
    const text = await this.readLimited(response).catch((e: Error) => {
      throw unavailable(e.message);
    });
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw new NgsiError('BadRequestData', `@context ${url} is not valid JSON`);
    }
    return { document, ttl: this.ttlOf(response) };
  }

  private async readLimited(response: Response): Promise<string> {
    const declared = Number(response.headers.get('content-length'));
    if (declared > this.options.maxBytes) throw new Error(`larger than ${this.options.maxBytes} bytes`);
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = response.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > this.options.maxBytes) {
        await reader.cancel();
        throw new Error(`larger than ${this.options.maxBytes} bytes`);
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private ttlOf(response: Response): number {
    const cacheControl = response.headers.get('cache-control') ?? '';
    if (/no-store|no-cache/i.test(cacheControl)) return 0;
    const maxAge = /max-age\s*=\s*(\d+)/i.exec(cacheControl);
    if (maxAge) return Number(maxAge[1]) * 1000;
    const expires = Date.parse(response.headers.get('expires') ?? '');
    if (!Number.isNaN(expires)) return Math.max(0, expires - Date.now());
    return this.options.defaultTtlMs;
  }
}
