/**
 * The request an NGSI-LD handler sees: node's request with its route
 * parameters, its parsed query and its body. The API runs on node:http
 * with find-my-way routing rather than a framework: a framework's
 * per-request work (prototype swaps, middleware stacks) cost more CPU than
 * the broker's own work on a retrieval.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import getRawBody from 'raw-body';
import { NgsiError } from '@civitas/core';

/** Where the NGSI-LD API is served. */
export const API_BASE = '/ngsi-ld/v1';

/** URL parameters by name; a parameter given more than once is a list. */
export type Query = Record<string, string | string[] | undefined>;

export interface ApiRequest {
  readonly method: string;
  /** The request target as sent: path and query. */
  readonly url: string;
  /** The path of the URL, without the query. */
  readonly path: string;
  readonly query: Query;
  /** Route parameters (`:entityId`, ...), percent-decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  /** The raw body; empty when none was sent. */
  readonly body: Buffer;
  /** `scheme://host` as the client addressed this broker, for links to what it serves. */
  readonly origin: string;
}

/** What serves one route: the request with its body read, and node's response. */
export type ApiHandler = (req: ApiRequest, res: ServerResponse) => Promise<void> | void;

/** Whether a request announces a body (most carry none). */
export function hasBody(raw: IncomingMessage): boolean {
  const length = raw.headers['content-length'];
  return length === undefined ? raw.headers['transfer-encoding'] !== undefined : length !== '0';
}

/** Reads a request's body, up to `limit` bytes: PayloadTooLarge beyond it, InvalidRequest when it does not arrive whole. */
export async function readBody(raw: IncomingMessage, limit: number): Promise<Buffer> {
  if (!hasBody(raw)) return EMPTY;
  try {
    return await getRawBody(raw, { limit, length: raw.headers['content-length'] });
  } catch (e) {
    const type = (e as { type?: string }).type;
    if (type === 'entity.too.large') throw new NgsiError('PayloadTooLarge', 'The request body is larger than the configured limit');
    throw new NgsiError('InvalidRequest', `The request body could not be read: ${(e as Error).message}`);
  }
}

/** The body of a request that carries none. */
export const EMPTY = Buffer.alloc(0);

/** `scheme://host` of a request (TLS terminated here makes it https). */
export function originOf(raw: IncomingMessage): string {
  const scheme = (raw.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  return `${scheme}://${raw.headers.host ?? 'localhost'}`;
}
