/** sameJson against a canonical serialisation (members sorted, skipped ones and undefined left out) on arbitrary JSON. */
import fc from 'fast-check';
import { sameJson } from '../../src/model/sameJson';

function canonical(v: unknown, skip: (m: string) => boolean): string {
  if (Array.isArray(v)) return `[${v.map((x) => canonical(x, skip)).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const members = Object.entries(v as Record<string, unknown>)
      .filter(([k, x]) => x !== undefined && !skip(k))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${members.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x, skip)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

const skipTimes = (m: string) => m === 'createdAt' || m === 'modifiedAt';
const keys = fc.constantFrom('a', 'b', 'value', 'createdAt', 'modifiedAt');
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.integer({ min: -3, max: 3 }), fc.constantFrom('x', 'y'), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 3 }),
  object: fc.dictionary(keys, fc.oneof(tie('value'), fc.constant(undefined)), { maxKeys: 4 }),
})).value;

/** The same value with every object's members in reverse order. */
function reordered(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reordered);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reordered(x)]));
  return v;
}

describe('sameJson', () => {
  test('agrees with comparing canonical serialisations, with and without skipped members', () => {
    fc.assert(
      fc.property(json, json, (a, b) => {
        expect(sameJson(a, b)).toBe(canonical(a, () => false) === canonical(b, () => false));
        expect(sameJson(a, b, skipTimes)).toBe(canonical(a, skipTimes) === canonical(b, skipTimes));
      }),
      { numRuns: 2000 },
    );
  });

  test('member order does not matter; array order does', () => {
    fc.assert(fc.property(json, (a) => sameJson(a, reordered(a))));
    expect(sameJson({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 })).toBe(true);
    expect(sameJson([1, 2], [2, 1])).toBe(false);
    expect(sameJson({ a: 1, createdAt: 'x' }, { a: 1, createdAt: 'y' }, skipTimes)).toBe(true);
    expect(sameJson({ a: 1 }, { a: 1, b: null })).toBe(false);
    expect(sameJson({ a: 1, b: undefined }, { a: 1 })).toBe(true);
  });
});
