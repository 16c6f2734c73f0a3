/** The effect of each write operation on a stored entity (5.6). */
import { ContextResolver } from '../../src/jsonld';
import type { ActiveContext } from '../../src/jsonld/activeContext';
import {
  appendAttributes,
  createEntity,
  deleteAttribute,
  deleteScope,
  mergeEntity,
  patchAttribute,
  replaceEntity,
  updateAttributes,
} from '../../src/model/operations';
import { EntityParser } from '../../src/model/parse';
import type { StoredEntity } from '../../src/model/entity';

const V = 'https://uri.etsi.org/ngsi-ld/default-context/';
const T1 = '2026-01-01T00:00:00.000001Z';
const T2 = '2026-01-01T00:00:00.000002Z';
let ctx: ActiveContext;
beforeAll(async () => {
  ctx = await new ContextResolver().resolve(undefined);
});

const parse = (body: object, fragment = false) => new EntityParser(ctx, { fragment, mergeValues: fragment }).entity(body);
const make = (body: object): StoredEntity => createEntity(parse({ id: 'urn:ngsi-ld:T:1', type: 'T', ...body }), T1);

test('create stamps the entity and its attributes', () => {
  const e = make({ a: 1 });
  expect(e).toMatchObject({ createdAt: T1, modifiedAt: T1, attrs: { [`${V}a`]: [{ type: 'Property', value: 1, createdAt: T1, modifiedAt: T1 }] } });
});

test('append overwrites, or keeps with noOverwrite, and adds types and scope', () => {
  const e = make({ a: 1, scope: '/x' });
  const over = appendAttributes(e, parse({ type: 'U', a: 2, b: 3, scope: '/y' }, true), T2, false);
  expect(over.result.notUpdated).toEqual([]);
  expect(over.entity.types).toEqual([`${V}T`, `${V}U`]);
  expect(over.entity.scope).toEqual(['/y']);
  expect(over.entity.attrs[`${V}a`]).toEqual([{ type: 'Property', value: 2, createdAt: T1, modifiedAt: T2 }]);
  const kept = appendAttributes(e, parse({ a: 9, scope: '/y' }, true), T2, true);
  expect(kept.result.notUpdated.map((n) => n.attributeName)).toEqual([`${V}a`]);
  expect(kept.entity.scope).toEqual(['/x', '/y']);
  expect(kept.entity.attrs[`${V}a`][0].value).toBe(1);
});

test('update replaces existing instances and appends the others (V1.9.1); an NGSI null deletes one', () => {
  const e = make({ a: [{ type: 'Property', value: 1 }, { type: 'Property', value: 2, datasetId: 'urn:d:1' }], b: 1 });
  const { entity, result } = updateAttributes(e, parse({ a: { type: 'Property', value: 'urn:ngsi-ld:null', datasetId: 'urn:d:1' }, c: 5, d: null }, true), T2);
  expect(result.updated).toEqual([`${V}a`, `${V}c`]);
  // Deleting what is not there changes nothing.
  expect(result.notUpdated.map((n) => n.attributeName)).toEqual([`${V}d`]);
  expect(entity.attrs[`${V}a`]).toHaveLength(1);
  expect(entity.attrs[`${V}c`]).toEqual([expect.objectContaining({ type: 'Property', value: 5, createdAt: T2 })]);
  expect(entity.modifiedAt).toBe(T2);
});

test('partial update merges members, refuses another attribute type, deletes with null', () => {
  const e = make({ r: { type: 'Relationship', object: 'urn:x:1', since: 1 } });
  const patched = patchAttribute(e, `${V}r`, new EntityParser(ctx, { fragment: true }).single('r', { since: 2 }), T2, 'r');
  expect(patched.attrs[`${V}r`][0]).toMatchObject({ type: 'Relationship', object: 'urn:x:1', sub: { [`${V}since`]: { value: 2 } } });
  expect(() => patchAttribute(e, `${V}r`, new EntityParser(ctx, { fragment: true }).single('r', { type: 'Property', value: 1 }), T2, 'r', 'Property')).toThrow(/Relationship/);
  const removed = patchAttribute(e, `${V}r`, new EntityParser(ctx, { fragment: true }).single('r', { type: 'Relationship', object: 'urn:ngsi-ld:null' }), T2, 'r');
  expect(removed.attrs[`${V}r`]).toBeUndefined();
});

test('delete attribute by datasetId, default instance, or all; scope', () => {
  const e = make({ a: [{ type: 'Property', value: 1 }, { type: 'Property', value: 2, datasetId: 'urn:d:1' }], scope: '/s' });
  expect(deleteAttribute(e, `${V}a`, T2, 'a', {}).attrs[`${V}a`]).toEqual([expect.objectContaining({ datasetId: 'urn:d:1' })]);
  expect(deleteAttribute(e, `${V}a`, T2, 'a', { datasetId: 'urn:d:1' }).attrs[`${V}a`]).toEqual([expect.objectContaining({ value: 1 })]);
  expect(deleteAttribute(e, `${V}a`, T2, 'a', { deleteAll: true }).attrs[`${V}a`]).toBeUndefined();
  expect(() => deleteAttribute(e, `${V}a`, T2, 'a', { datasetId: 'urn:d:9' })).toThrow(/no instance/);
  expect(deleteScope(e, T2).scope).toBeUndefined();
  expect(() => deleteScope(deleteScope(e, T2), T2)).toThrow(/no scope/);
});

test('merge: values merge as JSON merge-patch, nulls delete members, sub-attributes and attributes', () => {
  const e = make({ addr: { type: 'Property', value: { city: 'A', street: 'B' }, note: 'n' }, gone: 1 });
  const merged = mergeEntity(e, parse({ addr: { value: { city: null, zip: '1' }, note: 'urn:ngsi-ld:null' }, gone: 'urn:ngsi-ld:null', type: 'U' }, true), T2);
  expect(merged.attrs[`${V}addr`][0]).toMatchObject({ value: { [`${V}street`]: 'B', [`${V}zip`]: '1' } });
  expect(merged.attrs[`${V}addr`][0].sub).toBeUndefined();
  expect(merged.attrs[`${V}gone`]).toBeUndefined();
  expect(merged.types).toEqual([`${V}T`, `${V}U`]);
  expect(merged.createdAt).toBe(T1);
});

test('replace keeps id and createdAt', () => {
  const e = make({ a: 1 });
  const replaced = replaceEntity(e, parse({ type: 'U', b: 2 }), T2);
  expect(replaced).toMatchObject({ id: e.id, createdAt: T1, modifiedAt: T2, types: [`${V}U`] });
  expect(Object.keys(replaced.attrs)).toEqual([`${V}b`]);
});
