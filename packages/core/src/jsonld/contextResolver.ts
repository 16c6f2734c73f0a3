/**
 * Request @context -> ActiveContext. jsonld.js processes each distinct
 * context once (the reference for JSON-LD semantics); the result is kept as
 * a TermContext keyed by the context's URL list or content hash, until the
 * earliest expiry of the remote documents it used.
 */
import { createHash } from 'node:crypto';
import jsonld from 'jsonld';
import { NgsiError } from '../errors';
import type { ActiveContext, ContextSource } from './activeContext';
import { coreContextDocument, DEFAULT_CORE_CONTEXT, isCoreContextUrl } from './coreContexts';
import { DEFAULT_REMOTE_OPTIONS, RemoteDocumentOptions, RemoteDocuments } from './remoteDocuments';
import { ProcessedContext, TermContext } from './termContext';

export interface ContextResolverOptions {
  /** The core context URL applied to every request and emitted in responses. */
  coreContextUrl?: string;
  /** Base URL of the broker, for links to the contexts it serves itself (inline ones). */
  servedBaseUrl?: () => string;
  remote?: Partial<RemoteDocumentOptions>;
  /** Resolved contexts kept at once. */
  maxContexts?: number;
}

interface Cached {
  context: TermContext;
  expires: number;
}

const MAX_NESTING = 8;

/** jsonld.js's context processing, which its published typings leave out. */
const processContext = (jsonld as unknown as {
  processContext(active: unknown, local: unknown, options: Record<string, unknown>): Promise<unknown>;
}).processContext.bind(jsonld);

export class ContextResolver {
  readonly coreContextUrl: string;
  private readonly remote: RemoteDocuments;
  private readonly cache = new Map<string, Cached>();
  private readonly pending = new Map<string, Promise<Cached>>();
  /** Inline contexts the broker serves under /jsonldContexts/{hash}, so that a Link header can point at them. */
  private readonly served = new Map<string, unknown>();
  private readonly coreTerms: Set<string>;
  private readonly maxContexts: number;

  constructor(private readonly options: ContextResolverOptions = {}) {
    this.coreContextUrl = options.coreContextUrl ?? DEFAULT_CORE_CONTEXT;
    const core = coreContextDocument(this.coreContextUrl) as { '@context': Record<string, unknown> } | undefined;
    if (!core) throw new Error(`${this.coreContextUrl} is not a known NGSI-LD core context`);
    this.coreTerms = new Set(Object.keys(core['@context']));
    this.remote = new RemoteDocuments({ ...DEFAULT_REMOTE_OPTIONS, ...options.remote });
    this.maxContexts = options.maxContexts ?? 1000;
  }

  async resolve(userContext: ContextSource | undefined): Promise<ActiveContext> {
    const entries = normalize(userContext);
    const key = entries.length === 0 ? '' : JSON.stringify(entries);
    const hit = this.cache.get(key);
    if (hit && hit.expires > Date.now()) return hit.context;
    let pending = this.pending.get(key);
    if (!pending) {
      pending = this.build(entries, key).finally(() => this.pending.delete(key));
      this.pending.set(key, pending);
    }
    return (await pending).context;
  }

  /** A context document the broker serves itself, by id. */
  getStored(id: string): unknown | undefined {
    return this.served.get(id);
  }

  private async build(entries: Array<string | Record<string, unknown>>, key: string): Promise<Cached> {
    let expires = Number.POSITIVE_INFINITY;
    for (const e of entries) if (typeof e !== 'string') rejectScoped(e);
    const documentLoader = async (url: string) => {
      const core = coreContextDocument(url);
      if (core) return { contextUrl: null, documentUrl: url, document: core };
      const fetched = await this.remote.get(url);
      expires = Math.min(expires, fetched.expires);
      const doc = fetched.document as { '@context'?: unknown };
      if (typeof doc !== 'object' || doc === null || doc['@context'] === undefined) {
        throw new NgsiError('BadRequestData', `${url} holds no @context`);
      }
      rejectScoped(doc['@context']);
      return { contextUrl: null, documentUrl: url, document: doc };
    };
    let processed: ProcessedContext;
    try {
      processed = await this.process(entries, documentLoader);
    } catch (e) {
      throw asNgsiError(e);
    }
    const context = new TermContext({
      userContext: entries.length === 0 ? undefined : entries.length === 1 ? entries[0] : entries,
      key,
      // The user's context as given: it imports or implies the core context, which always applies.
      responseContext: entries.length === 0 ? this.coreContextUrl : entries.length === 1 ? entries[0] : entries,
      linkUrl: this.linkUrl(entries, key),
      processed,
      coreTerms: this.coreTerms,
    });
    const cached = { context, expires };
    this.cache.set(key, cached);
    while (this.cache.size > this.maxContexts) this.cache.delete(this.cache.keys().next().value!);
    return cached;
  }

  /**
   * The core context comes last: it is protected and wins every conflict.
   * A user context that brings another core version of its own (a core URL in
   * its list, or one it imports) would clash with ours over protected terms;
   * then the user's core serves, and core URLs in the list are only ever
   * served locally.
   */
  private async process(entries: Array<string | Record<string, unknown>>, documentLoader: unknown): Promise<ProcessedContext> {
    const options = { documentLoader, maxContextUrls: MAX_NESTING };
    const userOnly = entries.filter((e) => typeof e !== 'string' || !isCoreContextUrl(e));
    const initial = await processContext(null, null, {});
    try {
      return (await processContext(initial, [...userOnly, this.coreContextUrl], options)) as ProcessedContext;
    } catch (e) {
      if (!/protected term/i.test((e as Error).message)) throw e;
      return (await processContext(initial, entries, options)) as ProcessedContext;
    }
  }

  /** A single URL links to itself; anything else is served by the broker under a content hash. */
  private linkUrl(entries: Array<string | Record<string, unknown>>, key: string): string {
    if (entries.length === 0) return this.coreContextUrl;
    if (entries.length === 1 && typeof entries[0] === 'string') return entries[0];
    const id = createHash('sha256').update(key).digest('hex').slice(0, 32);
    this.served.set(id, { '@context': entries.length === 1 ? entries[0] : entries });
    const base = this.options.servedBaseUrl?.() ?? '';
    return `${base}/ngsi-ld/v1/jsonldContexts/${id}`;
  }
}

function normalize(source: ContextSource | undefined): Array<string | Record<string, unknown>> {
  if (source === undefined || source === null) return [];
  const list = Array.isArray(source) ? source : [source];
  for (const e of list) {
    if (typeof e !== 'string' && (typeof e !== 'object' || e === null || Array.isArray(e))) {
      throw new NgsiError('BadRequestData', '@context must be a URL, an object or an array of them');
    }
  }
  return list;
}

/** 5.5.7: scoped contexts (a term definition with its own @context) are refused. */
function rejectScoped(context: unknown): void {
  const list = Array.isArray(context) ? context : [context];
  for (const c of list) {
    if (typeof c !== 'object' || c === null) continue;
    for (const def of Object.values(c)) {
      if (typeof def === 'object' && def !== null && '@context' in def) {
        throw new NgsiError('BadRequestData', 'Scoped @contexts (a term definition with its own @context) are not supported');
      }
    }
  }
}

function asNgsiError(e: unknown): NgsiError {
  // jsonld.js wraps loader errors; find ours inside.
  for (let cur = e as { details?: { cause?: unknown }; cause?: unknown } | undefined; cur; ) {
    if (cur instanceof NgsiError) return cur;
    cur = (cur.details?.cause ?? cur.cause) as typeof cur;
  }
  return new NgsiError('BadRequestData', `Invalid @context: ${(e as Error).message}`);
}
