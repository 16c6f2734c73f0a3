/** Matching without I/O: what changed, which triggers fire, and which subscriptions the index offers. */
import { ContextResolver, Subscription } from '@civitas/core';
import type { StoredEntity } from '@civitas/core';
import { attributeChanges, firedTriggers } from '../src/matching/changes';
import { SubscriptionIndex } from '../src/matching/subscriptionIndex';

const T = 'https://example.org/';
const entity = (attrs: StoredEntity['attrs'], types = [`${T}Room`]): StoredEntity => ({
  id: 'urn:ngsi-ld:Room:1',
  types,
  createdAt: '2026-01-01T00:00:00.000000Z',
  modifiedAt: '2026-01-01T00:00:00.000000Z',
  attrs,
});
const prop = (value: number, modifiedAt = '2026-01-01T00:00:00.000000Z') => [{ type: 'Property' as const, value, modifiedAt }];

describe('attributeChanges and firedTriggers', () => {
  test('creation creates every attribute; deletion deletes them', () => {
    const e = entity({ [`${T}a`]: prop(1) });
    const created = attributeChanges(undefined, e);
    expect(created).toEqual({ created: [`${T}a`], updated: [], deleted: [], deletedInstances: {} });
    expect([...firedTriggers(undefined, e, created, undefined)].sort()).toEqual(['attributeCreated', 'entityCreated']);
    const deleted = attributeChanges(e, undefined);
    expect([...firedTriggers(e, undefined, deleted, undefined)].sort()).toEqual(['attributeDeleted', 'entityDeleted']);
  });

  test('only a different value is an update; system timestamps do not count', () => {
    const before = entity({ [`${T}a`]: prop(1), [`${T}b`]: prop(2) });
    const same = entity({ [`${T}a`]: prop(1, '2026-02-02T00:00:00.000000Z'), [`${T}b`]: prop(2) });
    expect(attributeChanges(before, same)).toEqual({ created: [], updated: [], deleted: [], deletedInstances: {} });
    expect(firedTriggers(before, same, attributeChanges(before, same), undefined).size).toBe(0);
    const changed = entity({ [`${T}a`]: prop(5), [`${T}c`]: prop(3) });
    const diff = attributeChanges(before, changed);
    expect(diff).toEqual({ created: [`${T}c`], updated: [`${T}a`], deleted: [`${T}b`], deletedInstances: {} });
    expect([...firedTriggers(before, changed, diff, undefined)].sort()).toEqual(['attributeCreated', 'attributeDeleted', 'attributeUpdated', 'entityUpdated']);
    expect([...firedTriggers(before, changed, diff, new Set([`${T}b`]))].sort()).toEqual(['attributeDeleted', 'entityUpdated']);
    expect(firedTriggers(before, changed, diff, new Set([`${T}z`])).size).toBe(0);
  });
});

test('removing one instance of a multi-instance attribute is an attribute deletion, not an update', () => {
  const two = entity({ [`${T}a`]: [{ type: 'Property', value: 1 }, { type: 'Property', value: 2, datasetId: 'urn:d:x' }] });
  const one = entity({ [`${T}a`]: [{ type: 'Property', value: 1 }] });
  const diff = attributeChanges(two, one);
  expect(diff).toEqual({ created: [], updated: [], deleted: [], deletedInstances: { [`${T}a`]: ['urn:d:x'] } });
  expect([...firedTriggers(two, one, diff, new Set([`${T}a`]))].sort()).toEqual(['attributeDeleted', 'entityUpdated']);
});

describe('SubscriptionIndex', () => {
  const subscription = (id: string, type: string, extra: Partial<Subscription> = {}): Subscription => ({
    id,
    entities: [{ type, types: [[type]] }],
    notificationTrigger: ['attributeCreated', 'attributeUpdated'],
    isActive: true,
    notification: { format: 'normalized', sysAttrs: false, showChanges: false, endpoint: { uri: 'http://127.0.0.1:9/' } },
    createdAt: '2026-01-01T00:00:00Z',
    modifiedAt: '2026-01-01T00:00:00Z',
    ...extra,
  });

  test('10,000 subscriptions on other types are never candidates for a change', async () => {
    const ctx = await new ContextResolver().resolve(undefined);
    const all = Array.from({ length: 10_000 }, (_, i) => ({ tenant: '', subscription: subscription(`urn:s:${i}`, `${T}Other${i % 100}`), delivery: { timesSent: 0, timesFailed: 0 } }));
    all.push({ tenant: '', subscription: subscription('urn:s:room', `${T}Room`), delivery: { timesSent: 0, timesFailed: 0 } });
    all.push({ tenant: 'other', subscription: subscription('urn:s:elsewhere', `${T}Room`), delivery: { timesSent: 0, timesFailed: 0 } });
    all.push({ tenant: '', subscription: subscription('urn:s:paused', `${T}Room`, { isActive: false }), delivery: { timesSent: 0, timesFailed: 0 } });
    all.push({
      tenant: '',
      subscription: { ...subscription('urn:s:attr', `${T}Room`), entities: undefined, watchedAttributes: [`${T}a`] },
      delivery: { timesSent: 0, timesFailed: 0 },
    });
    const index = await SubscriptionIndex.build(all, async () => ctx, (e) => {
      throw e;
    });
    expect(index.size).toBe(10_004);
    const room = entity({ [`${T}a`]: prop(1) });
    expect(index.candidates('', room, [`${T}a`], Date.now()).map((s) => s.subscription.id).sort()).toEqual(['urn:s:attr', 'urn:s:room']);
    expect(index.candidates('', room, [`${T}b`], Date.now()).map((s) => s.subscription.id)).toEqual(['urn:s:room']);
    expect(index.candidates('', entity({}, [`${T}Other7`]), [], Date.now())).toHaveLength(100);
  });

  test('a subscription per entity id (10,000 of one type): a change meets those of its entity, and the type still has to match', async () => {
    const ctx = await new ContextResolver().resolve(undefined);
    const perDevice = (i: number, type = `${T}Room`) =>
      subscription(`urn:s:device:${i}:${type}`, type, { entities: [{ type, types: [[type]], id: `urn:ngsi-ld:Room:${i}` }] });
    const all = [...Array.from({ length: 10_000 }, (_, i) => perDevice(i)), perDevice(1, `${T}Hall`), subscription('urn:s:every-room', `${T}Room`)];
    const index = await SubscriptionIndex.build(
      all.map((s) => ({ tenant: '', subscription: s, delivery: { timesSent: 0, timesFailed: 0 } })),
      async () => ctx,
      (e) => {
        throw e;
      },
    );
    const room = (n: number) => ({ ...entity({}), id: `urn:ngsi-ld:Room:${n}` });
    const ids = (e: StoredEntity) => index.candidates('', e, [], Date.now()).map((s) => s.subscription.id).sort();
    expect(ids(room(1))).toEqual(['urn:s:device:1:https://example.org/Room', 'urn:s:every-room']);
    expect(ids(room(9_999))).toEqual(['urn:s:device:9999:https://example.org/Room', 'urn:s:every-room']);
    expect(ids(room(10_001))).toEqual(['urn:s:every-room']);
  });

  test('entity selectors: id, idPattern and type conjunctions', async () => {
    const ctx = await new ContextResolver().resolve(undefined);
    const both = subscription('urn:s:both', `${T}A`, { entities: [{ type: 'A;B', types: [[`${T}A`, `${T}B`]], idPattern: '^urn:ngsi-ld:Room:' }] });
    const byId = subscription('urn:s:id', `${T}A`, { entities: [{ type: 'A', types: [[`${T}A`]], id: 'urn:ngsi-ld:Room:2' }] });
    const index = await SubscriptionIndex.build(
      [both, byId].map((s) => ({ tenant: '', subscription: s, delivery: { timesSent: 0, timesFailed: 0 } })),
      async () => ctx,
      (e) => {
        throw e;
      },
    );
    const ids = (types: string[]) => index.candidates('', entity({}, types), [], Date.now()).map((s) => s.subscription.id);
    expect(ids([`${T}A`])).toEqual([]);
    expect(ids([`${T}A`, `${T}B`])).toEqual(['urn:s:both']);
  });
});
