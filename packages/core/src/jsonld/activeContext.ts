/**
 * A processed @context, ready for the NGSI-LD-shaped expansion and
 * compaction that every request does. Built once per distinct context (by
 * URL or content hash) and cached; using it costs map look-ups, not a
 * jsonld.js call.
 */
export interface ActiveContext {
  /**
   * The user context as the request gave it (URL, inline object or array of
   * both), without the core context; `undefined` when only the core applies.
   */
  readonly userContext: ContextSource | undefined;
  /** A stable key for caching: identical contexts share it. */
  readonly key: string;
  /**
   * The value a response puts in `@context` (ld+json): the user context
   * followed by the core context URL, or the core context URL alone.
   */
  readonly responseContext: ContextSource;
  /**
   * The URL to put in a response `Link` header (application/json): the
   * request's own Link URL, the core URL, or, for an inline context, the URL
   * under which the broker serves it.
   */
  readonly linkUrl: string;

  /** Expands a term used as attribute name, entity type or vocab value. Absolute IRIs come back unchanged. */
  expandTerm(term: string): string;
  /** The shortest term for an IRI (the core context wins conflicts); the IRI itself when none. */
  compactIri(iri: string): string;
  /** Expands the member names of a compound Property value, recursively (JSON-LD semantics; `@` keywords kept). */
  expandValue(value: unknown): unknown;
  /** Inverse of expandValue. */
  compactValue(value: unknown): unknown;
}

/** One element of a request's @context: a URL or an inline context object. */
export type ContextSource = string | Record<string, unknown> | Array<string | Record<string, unknown>>;
