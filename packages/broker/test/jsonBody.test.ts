/** Request bodies: the nesting limit counts every object and array, the outermost as the first level. */
import { parseJsonText } from '../src/http/jsonBody';

/** `levels` objects and arrays inside each other, alternating, around a number. */
function nested(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = i % 2 === 0 ? [v] : { n: v };
  return v;
}

describe('parseJsonText', () => {
  test.each([1, 2, 31, 32])('%i levels under a limit of 32 are taken', (levels) => {
    const text = JSON.stringify(nested(levels));
    expect(parseJsonText(text, 32)).toEqual(nested(levels));
  });

  test.each([33, 100])('%i levels under a limit of 32 are BadRequestData', (levels) => {
    expect(() => parseJsonText(JSON.stringify(nested(levels)), 32)).toThrow(expect.objectContaining({ type: 'BadRequestData' }));
  });

  test('a body nested far deeper than a stack is refused, not a crash', () => {
    const text = `${'['.repeat(100_000)}1${']'.repeat(100_000)}`;
    expect(() => parseJsonText(text, 32)).toThrow(expect.objectContaining({ type: 'BadRequestData' }));
  });

  test('a deep member after many shallow ones is found', () => {
    const body = [...Array.from({ length: 500 }, (_, i) => ({ id: i, v: [i] })), { deep: nested(40) }];
    expect(() => parseJsonText(JSON.stringify(body), 32)).toThrow(expect.objectContaining({ type: 'BadRequestData' }));
    expect(parseJsonText(JSON.stringify(body.slice(0, 500)), 32)).toHaveLength(500);
  });

  test('scalars, strings with brackets and empty containers are no levels of their own', () => {
    expect(parseJsonText(JSON.stringify({ a: '[[[[[[', b: [], c: {} }), 2)).toEqual({ a: '[[[[[[', b: [], c: {} });
    expect(() => parseJsonText(JSON.stringify({ a: [[]] }), 2)).toThrow(expect.objectContaining({ type: 'BadRequestData' }));
  });
});
