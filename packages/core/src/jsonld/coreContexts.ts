/**
 * The NGSI-LD core @contexts, embedded: every published core URL resolves
 * to a file in ontologies/core and is never fetched (uri.etsi.org answers
 * plain HTTP clients with HTML, and a broker must work offline).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = join(__dirname, '../../../../ontologies/core');
const BASE = 'uri.etsi.org/ngsi-ld/v1/';

/** File per published URL path; v1.5 was never published separately from v1.6's terms. */
const FILES: Record<string, string> = {
  'ngsi-ld-core-context.jsonld': 'ngsi-ld-core-context.jsonld',
  'ngsi-ld-core-context-v1.3.jsonld': 'ngsi-ld-core-context-v1.3.jsonld',
  'ngsi-ld-core-context-v1.4.jsonld': 'ngsi-ld-core-context-v1.4.jsonld',
  'ngsi-ld-core-context-v1.5.jsonld': 'ngsi-ld-core-context-v1.6.jsonld',
  'ngsi-ld-core-context-v1.6.jsonld': 'ngsi-ld-core-context-v1.6.jsonld',
  'ngsi-ld-core-context-v1.7.jsonld': 'ngsi-ld-core-context-v1.7.jsonld',
  'ngsi-ld-core-context-v1.8.jsonld': 'ngsi-ld-core-context-v1.8.jsonld',
  'ngsi-ld-core-context-v1.9.jsonld': 'ngsi-ld-core-context-v1.9.jsonld',
};

export const DEFAULT_CORE_CONTEXT = `https://${BASE}ngsi-ld-core-context-v1.8.jsonld`;

const loaded = new Map<string, unknown>();

/** The local document for a core context URL (http or https), or undefined for any other URL. */
export function coreContextDocument(url: string): unknown | undefined {
  const m = /^https?:\/\/(.*)$/.exec(url);
  if (!m || !m[1].startsWith(BASE)) return undefined;
  const file = FILES[m[1].slice(BASE.length)];
  if (!file) return undefined;
  let doc = loaded.get(file);
  if (doc === undefined) {
    doc = JSON.parse(readFileSync(join(DIR, file), 'utf8'));
    loaded.set(file, doc);
  }
  return doc;
}

export function isCoreContextUrl(url: string): boolean {
  return coreContextDocument(url) !== undefined;
}
