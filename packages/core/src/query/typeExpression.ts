/**
 * Entity type selection (4.17) and scope queries (4.19) share one small
 * language: `,` or `|` for either, `;` for both (binding tighter),
 * parentheses to group. It parses to a disjunction of conjunctions, which
 * is all SQL needs.
 */
import { badRequest } from '../errors';
import { isValidName } from '../model/names';

/** OR of ANDs: [[A, B], [C]] means (A and B) or C. */
export type TypeSelection = string[][];

export function parseTypeExpression(text: string): TypeSelection {
  return parseSelection(text, 'type expression', (name) => isValidName(name));
}

/** scopeQ (4.19): scope paths with `+` (one level) and `#` (any depth) wildcards. */
export function parseScopeQuery(text: string): TypeSelection {
  return parseSelection(text, 'scopeQ', (scope) => /^\/(#|[^\s/#+]+|\+)?(\/([^\s/#+]+|\+))*(\/#)?$/.test(scope));
}

/** A regular expression matching the scopes a scopeQ path selects. */
export function scopePattern(path: string): string {
  if (path === '/#') return '^/';
  const escaped = path
    .split('/')
    .map((step) => (step === '+' ? '[^/]+' : step === '#' ? '#' : step.replace(/[.*?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return `^${escaped.endsWith('/#') ? `${escaped.slice(0, -2)}(/.*)?` : escaped}$`;
}

/** Whether scopes satisfy scopeQ patterns (from scopePattern; an OR of ANDs, each pattern matching some scope). */
export function scopeMatches(scopes: readonly string[], patterns: string[][]): boolean {
  return patterns.some((all) =>
    all.every((pattern) => {
      const re = new RegExp(pattern);
      return scopes.some((s) => re.test(s));
    }),
  );
}

function parseSelection(text: string, what: string, isItem: (item: string) => boolean): TypeSelection {
  let pos = 0;
  const fail = (message: string): never => {
    throw badRequest(`Invalid ${what} at position ${pos}: ${message}`);
  };
  const disjunction = (): TypeSelection => {
    let result = conjunction();
    while (text[pos] === '|' || text[pos] === ',') {
      pos += 1;
      result = [...result, ...conjunction()];
    }
    return result;
  };
  const conjunction = (): TypeSelection => {
    let result = factor();
    while (text[pos] === ';') {
      pos += 1;
      const right = factor();
      // (a|b);(c|d) = a;c | a;d | b;c | b;d
      result = result.flatMap((l) => right.map((r) => [...new Set([...l, ...r])]));
    }
    return result;
  };
  const factor = (): TypeSelection => {
    if (text[pos] === '(') {
      pos += 1;
      const inner = disjunction();
      if (text[pos] !== ')') fail('expected ")"');
      pos += 1;
      return inner;
    }
    const m = /^[^,|;()]+/.exec(text.slice(pos));
    if (!m) return fail('expected a name');
    const name = m[0].trim();
    if (!isItem(name)) fail(`${JSON.stringify(name)} is not valid here`);
    pos += m[0].length;
    return [[name]];
  };
  const result = disjunction();
  if (pos < text.length) fail(`unexpected ${JSON.stringify(text[pos])}`);
  return result;
}
