/** Distributed retrieval (4.3.6): a second broker, registered as a Context Source, over real HTTP. */
import { BrokerHarness, describeEachStore, startOn, storeKinds, uniqueId } from '../support/broker';

describeEachStore('distributed retrieval and query', (h) => {
  let source: { harness: BrokerHarness; cleanup(): Promise<void> };
  beforeAll(async () => {
    source = await startOn(storeKinds()[0], { CIVITAS_CONTEXT_SOURCE_ID: 'urn:ngsi-ld:ContextSource:test-source' });
  });
  afterAll(async () => {
    await source.harness.broker.close();
    await source.cleanup();
  });

  const register = async (information: unknown[], extra: Record<string, unknown> = {}) => {
    const res = await h().client.post('/csourceRegistrations', { type: 'ContextSourceRegistration', information, endpoint: source.harness.broker.url, ...extra });
    expect(res.status).toBe(201);
    return res.headers.get('location')!.split('/').pop()!;
  };

  test('an entity held only by a registered source is retrieved from it', async () => {
    const id = uniqueId('Vehicle');
    await source.harness.client.post('/entities', { id, type: 'Vehicle', speed: 80, brandName: 'Mercedes' });
    await register([{ entities: [{ type: 'Vehicle', id }] }]);
    const res = await h().client.get(`/entities/${id}?options=keyValues`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id, type: 'Vehicle', speed: 80, brandName: 'Mercedes' });
    // local=true keeps to this broker's own entities.
    expect((await h().client.get(`/entities/${id}?local=true`)).status).toBe(404);
  });

  test('local and remote attributes merge; the source is asked only for the attributes it registered', async () => {
    const id = uniqueId('Vehicle');
    await h().client.post('/entities', { id, type: 'Vehicle', color: 'red' });
    await source.harness.client.post('/entities', { id, type: 'Vehicle', speed: 80, brandName: 'Mercedes' });
    await register([{ entities: [{ type: 'Vehicle', idPattern: `^${id}$` }], propertyNames: ['speed'] }]);
    const res = await h().client.get(`/entities/${id}?options=keyValues`);
    expect(res.body).toEqual({ id, type: 'Vehicle', color: 'red', speed: 80 });
  });

  test('a registration that does not offer reads is not asked; a source that is down adds nothing', async () => {
    const id = uniqueId('Vehicle');
    await source.harness.client.post('/entities', { id, type: 'Vehicle', speed: 80 });
    await register([{ entities: [{ type: 'Vehicle', id }] }], { operations: ['updateOps'] });
    expect((await h().client.get(`/entities/${id}`)).status).toBe(404);
    const other = uniqueId('Vehicle');
    await h().client.post('/entities', { id: other, type: 'Vehicle', color: 'blue' });
    await h().client.post('/csourceRegistrations', {
      type: 'ContextSourceRegistration',
      information: [{ entities: [{ type: 'Vehicle', id: other }] }],
      endpoint: 'http://127.0.0.1:9',
      management: { timeout: 500 },
    });
    const res = await h().client.get(`/entities/${other}?options=keyValues`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: other, type: 'Vehicle', color: 'blue' });
    // 6.3.17: the answer says a source did not answer in time.
    expect(res.headers.get('ngsild-warning')).toMatch(/^199 127\.0\.0\.1:9 /);
  });

  test('a query merges the entities of registered sources with the stored ones, in id order, counted', async () => {
    const type = `Parking${Date.now().toString(36)}`;
    const id = (n: number) => `urn:ngsi-ld:${type}:${n}`;
    await h().client.post('/entities', { id: id(1), type, free: 3 });
    await h().client.post('/entities', { id: id(3), type, free: 5 });
    await source.harness.client.post('/entities', { id: id(2), type, free: 7 });
    await source.harness.client.post('/entities', { id: id(3), type, total: 40 });
    await register([{ entities: [{ type }] }], { city: 'Madrid' });
    const all = await h().client.get(`/entities?type=${type}&options=keyValues&count=true`);
    expect(all.body).toEqual([
      { id: id(1), type, free: 3 },
      { id: id(2), type, free: 7 },
      { id: id(3), type, free: 5, total: 40 },
    ]);
    expect(all.headers.get('ngsild-results-count')).toBe('3');
    const second = await h().client.get(`/entities?type=${type}&options=keyValues&limit=1&offset=1`);
    expect(second.body).toEqual([{ id: id(2), type, free: 7 }]);
    expect(second.headers.get('link')).toContain('rel="next"');
    // q travels to the source, which filters its own entities.
    const filtered = await h().client.get(`/entities?type=${type}&q=free>4&options=keyValues`);
    expect(filtered.body.map((e: { id: string }) => e.id)).toEqual([id(2), id(3)]);
    expect((await h().client.get(`/entities?type=${type}&local=true`)).body.map((e: { id: string }) => e.id)).toEqual([id(1), id(3)]);
    // csf picks the registrations by their properties.
    expect((await h().client.get(`/entities?type=${type}&csf=${encodeURIComponent('city=="Madrid"')}`)).body.map((e: { id: string }) => e.id)).toEqual([id(1), id(2), id(3)]);
    expect((await h().client.get(`/entities?type=${type}&csf=${encodeURIComponent('city=="Paris"')}`)).body.map((e: { id: string }) => e.id)).toEqual([id(1), id(3)]);
    // 4.23.1: no ordering over sources; local=true orders the local entities.
    expect((await h().client.get(`/entities?type=${type}&orderBy=free`)).status).toBe(400);
    expect((await h().client.get(`/entities?type=${type}&orderBy=free&local=true`)).status).toBe(200);
  });
});
