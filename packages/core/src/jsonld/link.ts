/** The JSON-LD context link of an HTTP Link header (RFC 8288; NGSI-LD 6.3.5). */

export const CONTEXT_REL = 'http://www.w3.org/ns/json-ld#context';

/** The target of the first link-value whose rel is the JSON-LD context, among any number of link-values. */
export function parseContextLink(header: string | undefined): string | undefined {
  if (!header) return undefined;
  // <...> may contain commas, so link-values are found by their targets rather than by splitting on commas.
  const linkValue = /<([^>]*)>((?:\s*;\s*[^;,<]+(?:=(?:"[^"]*"|[^;,<]*))?)*)/g;
  for (let m = linkValue.exec(header); m; m = linkValue.exec(header)) {
    const params = m[2];
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^;,\s]+))/i.exec(params);
    const rels = (rel?.[1] ?? rel?.[2] ?? '').split(/\s+/);
    if (rels.includes(CONTEXT_REL)) return m[1].trim();
  }
  return undefined;
}

export function formatContextLink(url: string): string {
  return `<${url}>; rel="${CONTEXT_REL}"; type="application/ld+json"`;
}
