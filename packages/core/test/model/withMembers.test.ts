import { withMembers } from '../../src/model/withMembers';

describe('withMembers', () => {
  test('copies the members, adds and replaces as a spread does, and leaves the source alone', () => {
    const source = { type: 'Property', value: 1, observedAt: '2026-01-01T00:00:00Z' };
    const out = withMembers(source, { value: 2, modifiedAt: 'now' });
    expect(out).toEqual({ ...source, value: 2, modifiedAt: 'now' });
    expect(Object.keys(out)).toEqual(['type', 'value', 'observedAt', 'modifiedAt']);
    expect(source).toEqual({ type: 'Property', value: 1, observedAt: '2026-01-01T00:00:00Z' });
  });

  test('a member named __proto__ stays a member; the prototype is untouched', () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    const out = withMembers(parsed, { b: 2 }) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(out.polluted).toBeUndefined();
    expect(JSON.stringify(out)).toBe('{"__proto__":{"polluted":true},"a":1,"b":2}');
  });

  test('inherited members are not copied, undefined ones are', () => {
    const proto = { inherited: 1 };
    const o = Object.assign(Object.create(proto) as object, { own: undefined });
    expect(Object.keys(withMembers(o, {}))).toEqual(['own']);
  });
});
