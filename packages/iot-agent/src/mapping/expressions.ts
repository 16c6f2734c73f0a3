/**
 * JEXL, the expression language FIWARE agents use for attribute values,
 * entity names and explicitAttrs: expressions read the measures and a few
 * device fields, and call only the transforms below (no host code is ever
 * evaluated). Compiled expressions are cached, since the same few run on
 * every measure.
 */
import jexlDefault from 'jexl';

const jexl = new jexlDefault.Jexl();

const TRANSFORMS: Record<string, (...args: any[]) => unknown> = {
  tostring: (v) => String(v),
  parseint: (v) => parseInt(String(v), 10),
  parsefloat: (v) => parseFloat(String(v)),
  trim: (v) => String(v).trim(),
  toupper: (v) => String(v).toUpperCase(),
  tolower: (v) => String(v).toLowerCase(),
  length: (v) => (Array.isArray(v) ? v.length : String(v).length),
  substr: (v, start: number, length?: number) => String(v).substr(start, length),
  split: (v, separator: string) => String(v).split(separator),
  indexOf: (v, search: string) => String(v).indexOf(search),
  replacestr: (v, from: string, to: string) => String(v).replace(from, to),
  replaceallstr: (v, from: string, to: string) => String(v).split(from).join(to),
  round: (v, digits = 0) => Math.round(Number(v) * 10 ** digits) / 10 ** digits,
  floor: (v) => Math.floor(Number(v)),
  ceil: (v) => Math.ceil(Number(v)),
  abs: (v) => Math.abs(Number(v)),
  toisodate: (v) => new Date(typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : (v as string | number)).toISOString(),
  jsonparse: (v) => JSON.parse(String(v)),
  jsonstringify: (v) => JSON.stringify(v),
  isarray: (v) => Array.isArray(v),
  typeof: (v) => typeof v,
  slice: (v, start: number, end?: number) => (Array.isArray(v) ? v.slice(start, end) : String(v).slice(start, end)),
  addreduce: (v) => (Array.isArray(v) ? v.reduce((a: number, b: number) => a + b, 0) : v),
  mapper: (v, from: unknown[], to: unknown[]) => to[from.indexOf(v)],
};
for (const [name, fn] of Object.entries(TRANSFORMS)) jexl.addTransform(name, fn);

const compiled = new Map<string, ReturnType<typeof jexl.compile>>();
const MAX_CACHED = 10_000;

export class ExpressionError extends Error {}

/** Evaluates `expression` over `context`; throws ExpressionError when it does not parse or fails. */
export function evaluate(expression: string, context: Record<string, unknown>): unknown {
  let expr = compiled.get(expression);
  try {
    if (!expr) {
      expr = jexl.compile(expression);
      if (compiled.size >= MAX_CACHED) compiled.clear();
      compiled.set(expression, expr);
    }
    return expr.evalSync(context);
  } catch (e) {
    throw new ExpressionError(`Expression "${expression}" failed: ${(e as Error).message}`);
  }
}

/** Checks that `expression` parses (at provisioning time, so that a typo is refused there rather than on every measure). */
export function checkExpression(expression: string): string | undefined {
  try {
    jexl.compile(expression);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
