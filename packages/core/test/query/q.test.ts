/** The q grammar (4.9): precedence, paths, values, and errors that name their position. */
import { parseQ, QExpression } from '../../src/query/q';

const term = (attribute: string, op: string, value: unknown, members: string[] = [], compound: string[] = []) => ({
  kind: 'term',
  path: { attribute, members, compound },
  op,
  value,
});

test('AND binds tighter than OR; parentheses group', () => {
  expect(parseQ('a==1;b==2|c==3')).toEqual({
    kind: 'or',
    terms: [{ kind: 'and', terms: [term('a', '==', { kind: 'number', value: 1 }), term('b', '==', { kind: 'number', value: 2 })] }, term('c', '==', { kind: 'number', value: 3 })],
  });
  expect((parseQ('(a==1|b==2);c==3') as { kind: string }).kind).toBe('and');
});

test('values: numbers, strings, booleans, date-times, URIs, ranges and lists', () => {
  const value = (q: string) => (parseQ(q) as Extract<QExpression, { kind: 'term' }>).value;
  expect(value('a==-1.5e2')).toEqual({ kind: 'number', value: -150 });
  expect(value('a=="x;y|z"')).toEqual({ kind: 'string', value: 'x;y|z' });
  expect(value('a==true')).toEqual({ kind: 'boolean', value: true });
  expect(value('a>=2026-11-25T10:00:00Z')).toEqual({ kind: 'dateTime', value: '2026-11-25T10:00:00Z' });
  expect(value('a==urn:ngsi-ld:Lot:1')).toEqual({ kind: 'string', value: 'urn:ngsi-ld:Lot:1' });
  expect(value('a==1..5')).toEqual({ kind: 'range', min: { kind: 'number', value: 1 }, max: { kind: 'number', value: 5 } });
  expect(value('a=="x","y"')).toEqual({ kind: 'list', items: [{ kind: 'string', value: 'x' }, { kind: 'string', value: 'y' }] });
  expect(value('a~="^ab.*"')).toEqual({ kind: 'string', value: '^ab.*' });
});

test('paths: sub-attributes, metadata, compound members, full IRIs; existence and its negation', () => {
  expect(parseQ('temperature.accuracy.observedAt>2020-01-01')).toMatchObject({ path: { attribute: 'temperature', members: ['accuracy', 'observedAt'] } });
  expect(parseQ('address[city.name]=="Bonn"')).toMatchObject({ path: { attribute: 'address', members: [], compound: ['city', 'name'] } });
  expect(parseQ('http://example.org/speed>5')).toMatchObject({ path: { attribute: 'http://example.org/speed', members: [] } });
  expect(parseQ('speed')).toEqual({ kind: 'exists', negated: false, path: { attribute: 'speed', members: [], compound: [] } });
  expect(parseQ('!speed')).toEqual({ kind: 'exists', negated: true, path: { attribute: 'speed', members: [], compound: [] } });
});

test.each([
  ['', 'empty'],
  ['a==', 'position 3'],
  ['(a==1', 'position 5'],
  ['a=="open', 'unterminated'],
  ['a>1..3', 'range'],
  ['a~=5', 'pattern'],
  ['a==1)', 'position 4'],
  ['a[b', 'position 3'],
  [';a==1', 'position 0'],
])('%j is BadRequestData naming the problem', (q, fragment) => {
  expect(() => parseQ(q)).toThrow(expect.objectContaining({ type: 'BadRequestData', detail: expect.stringContaining(fragment) }));
});
