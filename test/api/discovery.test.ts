/** Type and attribute discovery (5.7.5 - 5.7.10), per tenant, compacted with the request's @context. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeEachStore } from '../support/broker';

const V = 'https://uri.etsi.org/ngsi-ld/default-context/';

describeEachStore('discovery', (h) => {
  const tenant = `disc${Date.now().toString(36)}`;
  const headers = { 'NGSILD-Tenant': tenant };
  const inline = { 'Content-Type': 'application/ld+json' };
  const context = { Spot: 'http://example.org/Spot', free: 'http://example.org/free' };

  beforeAll(async () => {
    const res = await h().client.post(
      '/entityOperations/create',
      [
        { id: 'urn:ngsi-ld:Spot:1', type: 'Spot', free: true, refLot: { type: 'Relationship', object: 'urn:ngsi-ld:Lot:1' }, '@context': context },
        { id: 'urn:ngsi-ld:Spot:2', type: 'Spot', free: [{ type: 'Property', value: false }, { type: 'Property', value: true, datasetId: 'urn:ngsi-ld:Dataset:cam' }], '@context': context },
        { id: 'urn:ngsi-ld:Lot:1', type: 'Lot', name: 'North', '@context': context },
      ],
      { headers: { ...headers, ...inline } },
    );
    expect(res.status).toBe(201);
  });

  test('GET /types lists the types, compacted with the request context or as full IRIs without it', async () => {
    const plain = await h().client.get('/types', { headers });
    expect(plain.status).toBe(200);
    expect(plain.body).toMatchObject({ type: 'EntityTypeList', typeList: ['http://example.org/Spot', 'Lot'] });
    expect(plain.body.id).toMatch(/^urn:ngsi-ld:EntityTypeList:/);
  });

  test('GET /types?details=true names each type with its attributes', async () => {
    const res = await h().client.get('/types?details=true', { headers });
    expect(res.body).toEqual([
      { id: 'http://example.org/Spot', type: 'EntityType', typeName: 'http://example.org/Spot', attributeNames: ['http://example.org/free', 'refLot'] },
      { id: `${V}Lot`, type: 'EntityType', typeName: 'Lot', attributeNames: ['name'] },
    ]);
  });

  test('GET /types/{type} counts entities and lists attribute types; an unknown type is 404', async () => {
    const res = await h().client.get(`/types/${encodeURIComponent('http://example.org/Spot')}`, { headers });
    expect(res.body).toEqual({
      id: 'http://example.org/Spot',
      type: 'EntityTypeInfo',
      typeName: 'http://example.org/Spot',
      entityCount: 2,
      attributeDetails: [
        { id: 'http://example.org/free', type: 'Attribute', attributeName: 'http://example.org/free', attributeTypes: ['Property'] },
        { id: `${V}refLot`, type: 'Attribute', attributeName: 'refLot', attributeTypes: ['Relationship'] },
      ],
    });
    expect((await h().client.get('/types/Nothing', { headers })).status).toBe(404);
    const details = await h().client.get('/types/Lot?details=true', { headers });
    expect(details.status).toBe(400);
    expect(details.body.type).toBe('https://uri.etsi.org/ngsi-ld/errors/InvalidRequest');
  });

  test('GET /attributes and /attributes/{attr} count instances and name the types', async () => {
    const list = await h().client.get('/attributes', { headers });
    expect(list.body.attributeList).toEqual(['http://example.org/free', 'name', 'refLot']);
    const details = await h().client.get('/attributes?details=true', { headers });
    expect(details.body).toContainEqual({ id: `${V}name`, type: 'Attribute', attributeName: 'name', typeNames: ['Lot'] });
    const free = await h().client.get(`/attributes/${encodeURIComponent('http://example.org/free')}`, { headers });
    expect(free.body).toEqual({
      id: 'http://example.org/free',
      type: 'Attribute',
      attributeName: 'http://example.org/free',
      attributeCount: 3,
      attributeTypes: ['Property'],
      typeNames: ['http://example.org/Spot'],
    });
    expect((await h().client.get('/attributes/nothing', { headers })).status).toBe(404);
  });

  test('a request context compacts the names, and comes back in the body with ld+json', async () => {
    const server = createServer((_req, res) => res.end(JSON.stringify({ '@context': context })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ctx.jsonld`;
    const link = `<${url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`;
    try {
      const res = await h().client.get('/types?details=true', { headers: { ...headers, Accept: 'application/ld+json', Link: link } });
      expect(res.body[0]).toEqual({ id: 'http://example.org/Spot', type: 'EntityType', typeName: 'Spot', attributeNames: ['free', 'refLot'], '@context': url });
      const info = await h().client.get('/attributes/free', { headers: { ...headers, Link: link } });
      expect(info.body).toMatchObject({ id: 'http://example.org/free', attributeName: 'free', typeNames: ['Spot'] });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('an unknown tenant is NonexistentTenant', async () => {
    const res = await h().client.get('/types', { headers: { 'NGSILD-Tenant': `${tenant}x` } });
    expect(res.status).toBe(404);
    expect(res.body.type).toBe('https://uri.etsi.org/ngsi-ld/errors/NonexistentTenant');
  });
});
