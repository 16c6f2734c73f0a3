/** The subscription API (5.8): create, retrieve, query, update, delete; validation and tenancy. */
import { describeEachStore, uniqueId } from '../support/broker';

const CTX = { 'ex': 'https://example.org/ns#' };

const valid = (extra: Record<string, unknown> = {}) => ({
  type: 'Subscription',
  entities: [{ type: 'Room' }],
  notification: { endpoint: { uri: 'http://127.0.0.1:9/notify' } },
  ...extra,
});

describeEachStore('subscriptions API', (h) => {
  test('create answers 201 with Location; GET returns it with defaults and status', async () => {
    const id = uniqueId('Subscription');
    const created = await h().client.post('/subscriptions', valid({ id, watchedAttributes: ['temperature'], q: 'temperature>20' }));
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/ngsi-ld/v1/subscriptions/${id}`);
    const got = await h().client.get(`/subscriptions/${id}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      id,
      type: 'Subscription',
      entities: [{ type: 'Room' }],
      watchedAttributes: ['temperature'],
      q: 'temperature>20',
      status: 'active',
      notificationTrigger: ['attributeCreated', 'attributeUpdated'],
      notification: { endpoint: { uri: 'http://127.0.0.1:9/notify', accept: 'application/json' } },
    });
    // Members left to their defaults are not shown as if they had been given.
    expect(got.body.isActive).toBeUndefined();
    expect(got.body.notification.format).toBeUndefined();
    expect(got.body.notification.timesSent).toBeUndefined();
    expect(got.body.createdAt).toBeUndefined();
    const withSys = await h().client.get(`/subscriptions/${id}?options=sysAttrs`);
    expect(withSys.body.createdAt).toMatch(/Z$/);
  });

  test('a generated id when none is given; a duplicate id is 409 AlreadyExists', async () => {
    const created = await h().client.post('/subscriptions', valid());
    expect(created.headers.get('location')).toMatch(/^\/ngsi-ld\/v1\/subscriptions\/urn:ngsi-ld:Subscription:/);
    const id = uniqueId('Subscription');
    expect((await h().client.post('/subscriptions', valid({ id }))).status).toBe(201);
    const again = await h().client.post('/subscriptions', valid({ id }));
    expect(again.status).toBe(409);
    expect(again.body.type).toBe('https://uri.etsi.org/ngsi-ld/errors/AlreadyExists');
  });

  test('names are expanded with the request context and compacted with the reader’s', async () => {
    const id = uniqueId('Subscription');
    const body = { ...valid({ id, entities: [{ type: 'ex:Sensor' }], watchedAttributes: ['ex:level'] }), '@context': [CTX, 'https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld'] };
    expect((await h().client.post('/subscriptions', body, { headers: { 'Content-Type': 'application/ld+json' } })).status).toBe(201);
    const plain = await h().client.get(`/subscriptions/${id}`);
    expect(plain.body.entities).toEqual([{ type: 'https://example.org/ns#Sensor' }]);
    expect(plain.body.watchedAttributes).toEqual(['https://example.org/ns#level']);
    const ld = await h().client.get(`/subscriptions/${id}`, { headers: { Accept: 'application/ld+json' } });
    expect(ld.body['@context']).toBeDefined();
  });

  test.each([
    ['no type', { type: undefined }],
    ['a wrong type', { type: 'Entity' }],
    ['an id that is not a URI', { id: 'not a uri' }],
    ['neither entities nor watchedAttributes', { entities: undefined }],
    ['empty entities', { entities: [] }],
    ['an entity selector without type', { entities: [{ id: 'urn:ngsi-ld:Room:1' }] }],
    ['an invalid idPattern', { entities: [{ type: 'Room', idPattern: '(' }] }],
    ['empty watchedAttributes', { watchedAttributes: [] }],
    ['an unknown trigger', { notificationTrigger: ['entityTouched'] }],
    ['a q that does not parse', { q: '(temperature==1' }],
    ['a geoQ with an unknown georel', { geoQ: { geometry: 'Point', coordinates: [1, 2], georel: 'nearby' } }],
    ['a geoQ with bad coordinates', { geoQ: { geometry: 'Polygon', coordinates: [1, 2], georel: 'within' } }],
    ['a scopeQ that does not parse', { scopeQ: 'no-slash' }],
    ['timeInterval with watchedAttributes', { timeInterval: 10, watchedAttributes: ['a'] }],
    ['timeInterval with throttling', { timeInterval: 10, throttling: 5 }],
    ['a negative throttling', { throttling: -1 }],
    ['expiresAt in the past', { expiresAt: '2020-01-01T00:00:00Z' }],
    ['expiresAt that is not a date', { expiresAt: 'tomorrow' }],
    ['isActive that is not a boolean', { isActive: 'yes' }],
    ['no notification', { notification: undefined }],
    ['no endpoint', { notification: { format: 'normalized' } }],
    ['an endpoint that is not a URL', { notification: { endpoint: { uri: 'nowhere' } } }],
    ['an unsupported endpoint scheme', { notification: { endpoint: { uri: 'ftp://example.org/x' } } }],
    ['an unknown accept', { notification: { endpoint: { uri: 'http://a.b/c', accept: 'text/plain' } } }],
    ['an unknown format', { notification: { format: 'compact', endpoint: { uri: 'http://a.b/c' } } }],
    ['malformed receiverInfo', { notification: { endpoint: { uri: 'http://a.b/c', receiverInfo: [{ key: 'x' }] } } }],
    ['an invalid attribute name', { notification: { attributes: ['bad name'], endpoint: { uri: 'http://a.b/c' } } }],
    ['empty notification attributes', { notification: { attributes: [], endpoint: { uri: 'http://a.b/c' } } }],
    ['pick with attributes', { notification: { attributes: ['a'], pick: ['a'], endpoint: { uri: 'http://a.b/c' } } }],
    ['pick with omit', { notification: { pick: ['id'], omit: ['id'], endpoint: { uri: 'http://a.b/c' } } }],
    ['showChanges with keyValues', { notification: { format: 'keyValues', showChanges: true, endpoint: { uri: 'http://a.b/c' } } }],
    ['a datasetId that is not a URI', { datasetId: ['nope'] }],
  ])('create with %s is 400 BadRequestData and creates nothing', async (_what, change) => {
    const tenant = `bad${Math.random().toString(36).slice(2, 8)}`;
    const body: Record<string, unknown> = valid();
    for (const [k, v] of Object.entries(change)) {
      if (v === undefined) delete body[k];
      else body[k] = v;
    }
    const res = await h().client.post('/subscriptions', body, { headers: { 'NGSILD-Tenant': tenant } });
    expect(res.status).toBe(400);
    expect(res.body.type).toBe('https://uri.etsi.org/ngsi-ld/errors/BadRequestData');
    expect(res.body.detail).toEqual(expect.any(String));
    expect((await h().client.get('/subscriptions', { headers: { 'NGSILD-Tenant': tenant } })).status).toBe(404);
  });

  test('query: pagination with count and Link headers', async () => {
    const tenant = `page${Math.random().toString(36).slice(2, 8)}`;
    const headers = { 'NGSILD-Tenant': tenant };
    for (let i = 0; i < 5; i++) expect((await h().client.post('/subscriptions', valid({ id: `urn:ngsi-ld:Subscription:p${i}` }), { headers })).status).toBe(201);
    const first = await h().client.get('/subscriptions?limit=2&count=true', { headers });
    expect(first.status).toBe(200);
    expect(first.headers.get('ngsild-results-count')).toBe('5');
    expect(first.body.map((s: { id: string }) => s.id)).toEqual(['urn:ngsi-ld:Subscription:p0', 'urn:ngsi-ld:Subscription:p1']);
    expect(first.headers.get('link')).toContain('offset=2>;rel="next"');
    const last = await h().client.get('/subscriptions?limit=2&offset=4', { headers });
    expect(last.body).toHaveLength(1);
    expect(last.headers.get('link')).toContain('offset=2>;rel="prev"');
    expect(last.headers.get('link')).not.toContain('rel="next"');
    expect((await h().client.get('/subscriptions?limit=5000', { headers })).status).toBe(400);
  });

  test('update merges the given members and keeps the rest; invalid updates change nothing', async () => {
    const id = uniqueId('Subscription');
    await h().client.post('/subscriptions', valid({ id, q: 'a>1', subscriptionName: 'first' }));
    const patched = await h().client.patch(`/subscriptions/${id}`, { q: 'a>2', isActive: false, notification: { format: 'keyValues', endpoint: { uri: 'http://127.0.0.1:9/notify' } } });
    expect(patched.status).toBe(204);
    const got = (await h().client.get(`/subscriptions/${id}`)).body;
    expect(got).toMatchObject({ q: 'a>2', isActive: false, status: 'paused', subscriptionName: 'first' });
    expect(got.notification).toMatchObject({ format: 'keyValues', endpoint: { uri: 'http://127.0.0.1:9/notify' } });
    // A notification member replaces the stored one whole, so it must name its endpoint again.
    for (const bad of [{ q: '((' }, { timeInterval: 5, watchedAttributes: ['x'] }, { id: 'urn:ngsi-ld:Subscription:other' }, {}, { notification: { format: 'keyValues' } }]) {
      const res = await h().client.patch(`/subscriptions/${id}`, bad);
      expect(res.status).toBe(400);
    }
    expect((await h().client.get(`/subscriptions/${id}`)).body).toEqual(got);
    const resumed = await h().client.patch(`/subscriptions/${id}`, { isActive: true });
    expect(resumed.status).toBe(204);
    expect((await h().client.get(`/subscriptions/${id}`)).body.status).toBe('active');
  });

  test('delete answers 204, then the subscription is gone', async () => {
    const id = uniqueId('Subscription');
    await h().client.post('/subscriptions', valid({ id }));
    expect((await h().client.delete(`/subscriptions/${id}`)).status).toBe(204);
    expect((await h().client.get(`/subscriptions/${id}`)).status).toBe(404);
    expect((await h().client.delete(`/subscriptions/${id}`)).status).toBe(404);
    expect((await h().client.patch(`/subscriptions/${id}`, { q: 'a>1' })).status).toBe(404);
    expect((await h().client.get('/subscriptions/not-a-uri')).status).toBe(400);
  });

  test('tenants are isolated; an unknown tenant is 404 NonexistentTenant', async () => {
    const tenant = `sub${Math.random().toString(36).slice(2, 8)}`;
    const id = uniqueId('Subscription');
    expect((await h().client.get('/subscriptions', { headers: { 'NGSILD-Tenant': tenant } })).body.type).toBe('https://uri.etsi.org/ngsi-ld/errors/NonexistentTenant');
    expect((await h().client.post('/subscriptions', valid({ id }), { headers: { 'NGSILD-Tenant': tenant } })).status).toBe(201);
    expect((await h().client.get(`/subscriptions/${id}`, { headers: { 'NGSILD-Tenant': tenant } })).status).toBe(200);
    expect((await h().client.get(`/subscriptions/${id}`)).status).toBe(404);
  });

  test('a jsonldContext that cannot be loaded is refused at creation', async () => {
    const res = await h().client.post('/subscriptions', valid({ jsonldContext: 'http://127.0.0.1:9/missing.jsonld' }));
    expect(res.status).toBe(504);
    expect(res.body.type).toBe('https://uri.etsi.org/ngsi-ld/errors/LdContextNotAvailable');
  });
});
