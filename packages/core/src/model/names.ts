/**
 * Lexical rules for identifiers (ETSI GS CIM 009, 4.6.2 and 4.6.4).
 */

/** A URI as NGSI-LD requires for entity ids, datasetIds and relationship targets: a scheme, a colon, no whitespace or forbidden characters. */
const URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"'{}|\\^`]+$/;

/** `unicodeLetter *(unicodeLetter|unicodeNumber|_)`, optionally prefixed (`prefix:name`). */
const NAME = /^(?:[\p{L}_][\p{L}\p{N}_.-]*:)?[\p{L}_][\p{L}\p{N}_]*$/u;

/** Characters 4.6.4 lets a broker refuse in names; refusing them keeps q and URLs unambiguous. */
const FORBIDDEN = /[<>"'=;()\s]/;

/** Invisible and format characters that would make two different ids look the same (bidi overrides, zero-width, fillers, variation selectors, noncharacters). */
const INVISIBLE = /[\p{Cf}\p{Co}\p{Cn}\p{Zs}\u115F\u1160\u3164\uFFA0\u2800\uFE00-\uFE0F\u{E0100}-\u{E01EF}]/u;

export function isUri(value: unknown): value is string {
  return typeof value === 'string' && URI.test(value) && !INVISIBLE.test(value);
}

/** A term usable as an attribute name or entity type: a short name, a compact IRI or an absolute IRI. */
export function isValidName(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || FORBIDDEN.test(value)) return false;
  return NAME.test(value) || URI.test(value);
}
