/**
 * An ActiveContext over plain maps, built once from a context that
 * jsonld.js has processed. Expansion is a map look-up (or a prefix split);
 * compaction a look-up in the inverse map built with it.
 */
import type { ActiveContext, ContextSource } from './activeContext';

/** The parts of a jsonld.js processed context this needs. */
export interface ProcessedContext {
  mappings: Map<string, { '@id'?: string; _prefix?: boolean; reverse?: boolean } | null>;
  '@vocab'?: string;
}

export interface TermContextInit {
  userContext: ContextSource | undefined;
  key: string;
  responseContext: ContextSource;
  linkUrl: string;
  processed: ProcessedContext;
  /** Terms defined by the core context, which win when several terms compact one IRI. */
  coreTerms: ReadonlySet<string>;
}

const isKeyword = (s: string) => s.startsWith('@');

export class TermContext implements ActiveContext {
  readonly userContext: ContextSource | undefined;
  readonly key: string;
  readonly responseContext: ContextSource;
  readonly linkUrl: string;
  private readonly terms = new Map<string, string>();
  /** Terms usable as prefixes when compacting. */
  private readonly prefixes = new Map<string, string>();
  private readonly inverse = new Map<string, string>();
  private readonly vocab: string | undefined;
  /** Memo of compactions that needed more than a look-up. */
  private readonly compacted = new Map<string, string>();

  constructor(init: TermContextInit) {
    this.userContext = init.userContext;
    this.key = init.key;
    this.responseContext = init.responseContext;
    this.linkUrl = init.linkUrl;
    this.vocab = init.processed['@vocab'];
    const candidates = new Map<string, string[]>();
    for (const [term, def] of init.processed.mappings) {
      const iri = def?.['@id'];
      if (!iri || def.reverse) continue;
      this.terms.set(term, iri);
      // Compaction may use a term as a prefix only when JSON-LD 1.1 allows it (_prefix).
      if (def._prefix) this.prefixes.set(term, iri);
      if (!isKeyword(iri) && !term.includes(':')) {
        const list = candidates.get(iri) ?? [];
        list.push(term);
        candidates.set(iri, list);
      }
    }
    // The core context wins conflicts; otherwise the shortest, then alphabetically first, term (as JSON-LD term selection does).
    for (const [iri, list] of candidates) {
      list.sort((a, b) => Number(init.coreTerms.has(b)) - Number(init.coreTerms.has(a)) || a.length - b.length || (a < b ? -1 : 1));
      this.inverse.set(iri, list[0]);
    }
  }

  expandTerm(term: string): string {
    const mapped = this.terms.get(term);
    if (mapped !== undefined) return mapped;
    const colon = term.indexOf(':');
    if (colon > 0) {
      const prefix = term.slice(0, colon);
      const suffix = term.slice(colon + 1);
      if (suffix.startsWith('//')) return term;
      // Expansion accepts any defined term as a prefix.
      const base = this.terms.get(prefix);
      if (base !== undefined && !isKeyword(base)) return base + suffix;
      return term;
    }
    return this.vocab !== undefined && !isKeyword(term) ? this.vocab + term : term;
  }

  compactIri(iri: string): string {
    const term = this.inverse.get(iri);
    if (term !== undefined) return term;
    const memo = this.compacted.get(iri);
    if (memo !== undefined) return memo;
    const result = this.compactSlow(iri);
    if (this.compacted.size < 10_000) this.compacted.set(iri, result);
    return result;
  }

  private compactSlow(iri: string): string {
    if (this.vocab !== undefined && iri.startsWith(this.vocab)) {
      const suffix = iri.slice(this.vocab.length);
      // Only when the short form would expand back to the same IRI.
      if (suffix.length > 0 && !suffix.includes(':') && !this.terms.has(suffix)) return suffix;
    }
    let best: string | undefined;
    for (const [prefix, base] of this.prefixes) {
      if (iri.length > base.length && iri.startsWith(base)) {
        const candidate = `${prefix}:${iri.slice(base.length)}`;
        if (!this.terms.has(candidate) && (best === undefined || candidate.length < best.length || (candidate.length === best.length && candidate < best))) {
          best = candidate;
        }
      }
    }
    return best ?? iri;
  }

  expandValue(value: unknown): unknown {
    return this.mapKeys(value, (k) => {
      const expanded = this.expandTerm(k);
      // Keyword aliases such as `type` and `id` stay as given inside a value.
      return isKeyword(expanded) ? k : expanded;
    });
  }

  compactValue(value: unknown): unknown {
    return this.mapKeys(value, (k) => this.compactIri(k));
  }

  private mapKeys(value: unknown, rename: (key: string) => string): unknown {
    if (Array.isArray(value)) return value.map((v) => this.mapKeys(v, rename));
    if (typeof value !== 'object' || value === null) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[isKeyword(k) ? k : rename(k)] = this.mapKeys(v, rename);
    return out;
  }
}
