/** Type expressions (4.17) and scope queries (4.19). */
import { parseScopeQuery, parseTypeExpression, scopePattern } from '../../src/query/typeExpression';

test('type expressions: either, both, grouping', () => {
  expect(parseTypeExpression('A,B|C')).toEqual([['A'], ['B'], ['C']]);
  expect(parseTypeExpression('(A|B);C')).toEqual([['A', 'C'], ['B', 'C']]);
  expect(() => parseTypeExpression('A;(B')).toThrow(/position 4/);
  expect(() => parseTypeExpression('A B')).toThrow(/not valid/);
});

test('scope queries: paths with + and # wildcards', () => {
  expect(parseScopeQuery('/Madrid/#,/Bonn;/Parks')).toEqual([['/Madrid/#'], ['/Bonn', '/Parks']]);
  expect(() => parseScopeQuery('Madrid')).toThrow(/not valid/);
  const matches = (q: string, scope: string) => new RegExp(scopePattern(q)).test(scope);
  expect(matches('/Madrid', '/Madrid')).toBe(true);
  expect(matches('/Madrid', '/Madrid/Parks')).toBe(false);
  expect(matches('/Madrid/#', '/Madrid')).toBe(true);
  expect(matches('/Madrid/#', '/Madrid/Parks/North')).toBe(true);
  expect(matches('/Madrid/#', '/Madridejos')).toBe(false);
  expect(matches('/Madrid/+', '/Madrid/Parks')).toBe(true);
  expect(matches('/Madrid/+', '/Madrid/Parks/North')).toBe(false);
  expect(matches('/+/Parks', '/Bonn/Parks')).toBe(true);
  expect(matches('/#', '/anything/at/all')).toBe(true);
  expect(matches('/a.b', '/aXb')).toBe(false);
});
