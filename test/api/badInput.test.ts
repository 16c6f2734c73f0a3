/** Bad input gets a clear ProblemDetails and changes nothing. */
import { describeEachStore, uniqueId } from '../support/broker';

const ERR = 'https://uri.etsi.org/ngsi-ld/errors/';

describeEachStore(
  'bad input',
  (h) => {
    const tenant = `bad${Date.now().toString(36)}`;
    const headers = { 'NGSILD-Tenant': tenant };
    const seedId = 'urn:ngsi-ld:Seed:1';
    let snapshot = '';

    /** Everything the tenant holds, as text: equal snapshots mean nothing changed. */
    async function contents(): Promise<string> {
      const { entities } = await h().store.queryEntities(tenant, { idPattern: '.*', limit: 1000, offset: 0 });
      return JSON.stringify(entities);
    }

    beforeAll(async () => {
      expect((await h().client.post('/entities', { id: seedId, type: 'Seed', a: 1 }, { headers })).status).toBe(201);
      snapshot = await contents();
    });
    afterEach(async () => {
      expect(await contents()).toBe(snapshot);
    });

    const cases: Array<[string, { raw?: string; body?: unknown; path?: string; method?: string }, number, string]> = [
      ['malformed JSON', { raw: '{"id": "urn:x:1", "type": ' }, 400, 'InvalidRequest'],
      ['an id that is not a URI', { body: { id: 'not-a-uri', type: 'T' } }, 400, 'BadRequestData'],
      ['a missing type', { body: { id: 'urn:ngsi-ld:T:missing' } }, 400, 'BadRequestData'],
      ['an invalid type', { body: { id: 'urn:ngsi-ld:T:badtype', type: 'Bad Type!' } }, 400, 'BadRequestData'],
      ['an empty type list', { body: { id: 'urn:ngsi-ld:T:empty', type: [] } }, 400, 'BadRequestData'],
      ['a reserved attribute name', { body: { id: 'urn:ngsi-ld:T:reserved', type: 'T', value: 1 } }, 400, 'BadRequestData'],
      ['an invalid attribute name', { body: { id: 'urn:ngsi-ld:T:name', type: 'T', 'a(b)': 1 } }, 400, 'BadRequestData'],
      ['a Property without value', { body: { id: 'urn:ngsi-ld:T:nov', type: 'T', a: { type: 'Property' } } }, 400, 'BadRequestData'],
      ['a Relationship to a non-URI', { body: { id: 'urn:ngsi-ld:T:rel', type: 'T', r: { type: 'Relationship', object: 'nope' } } }, 400, 'BadRequestData'],
      ['an unknown attribute type', { body: { id: 'urn:ngsi-ld:T:at', type: 'T', a: { type: 'Propperty', value: 1 } } }, 400, 'BadRequestData'],
      ['a mixed-up attribute', { body: { id: 'urn:ngsi-ld:T:mix', type: 'T', a: { type: 'Property', object: 'urn:x:y' } } }, 400, 'BadRequestData'],
      ['an invalid GeoJSON geometry', { body: { id: 'urn:ngsi-ld:T:geo', type: 'T', location: { type: 'GeoProperty', value: { type: 'Point', coordinates: [200, 1] } } } }, 400, 'BadRequestData'],
      ['an unclosed polygon', { body: { id: 'urn:ngsi-ld:T:poly', type: 'T', location: { type: 'GeoProperty', value: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 2]]] } } } }, 400, 'BadRequestData'],
      ['a datasetId set to the NGSI-LD Null', { method: 'PATCH', path: `/entities/${seedId}/attrs/a`, body: { datasetId: 'urn:ngsi-ld:null' } }, 400, 'BadRequestData'],
      ['an invalid observedAt', { body: { id: 'urn:ngsi-ld:T:obs', type: 'T', a: { type: 'Property', value: 1, observedAt: 'yesterday' } } }, 400, 'BadRequestData'],
      ['a sealed member outside ngsildproof', { body: { id: 'urn:ngsi-ld:T:seal', type: 'T', speed: { type: 'Property', value: 1, entityIdSealed: 'urn:ngsi-ld:T:seal' } } }, 400, 'BadRequestData'],
      ['an ngsildproof whose value is no proof object', { body: { id: 'urn:ngsi-ld:T:proof', type: 'T', ngsildproof: { type: 'Property', value: 'not-a-proof' } } }, 400, 'BadRequestData'],
      ['an ngsildproof with a sealed member that is no string', { body: { id: 'urn:ngsi-ld:T:proof2', type: 'T', ngsildproof: { type: 'Property', value: { type: 'DataIntegrityProof' }, entityTypeSealed: 42 } } }, 400, 'BadRequestData'],
      ['a null attribute', { body: { id: 'urn:ngsi-ld:T:null', type: 'T', a: null } }, 400, 'BadRequestData'],
      ['a body that is not an object', { body: [1, 2] }, 400, 'InvalidRequest'],
      ['a payload nested too deep', { raw: JSON.stringify({ id: 'urn:ngsi-ld:T:deep', type: 'T', a: nest(200) }) }, 400, 'BadRequestData'],
      ['a body over the size limit', { raw: JSON.stringify({ id: 'urn:ngsi-ld:T:big', type: 'T', a: 'x'.repeat(70_000) }) }, 413, 'PayloadTooLarge'],
      ['an empty body', { raw: '' }, 400, 'InvalidRequest'],
      ['an update of the seed with a broken attribute', { method: 'PATCH', path: `/entities/${seedId}/attrs`, body: { a: { type: 'Relationship', object: 3 } } }, 400, 'BadRequestData'],
      ['a merge with an invalid id in the body', { method: 'PATCH', path: `/entities/${seedId}`, body: { id: 'urn:ngsi-ld:Other:1', a: 2 } }, 400, 'BadRequestData'],
      ['an entity id that is not a URI in the path', { method: 'DELETE', path: '/entities/nope' }, 400, 'BadRequestData'],
      ['an unknown URL parameter', { method: 'GET', path: `/entities/${seedId}?bogus=1` }, 400, 'InvalidRequest'],
    ];

    test.each(cases)('%s', async (_name, c, status, type) => {
      const res = await h().client.request(c.method ?? 'POST', c.path ?? '/entities', {
        rawBody: c.raw ?? (c.body !== undefined ? JSON.stringify(c.body) : undefined),
        headers: { ...headers, 'Content-Type': 'application/json' },
      });
      expect(res.status).toBe(status);
      expect(res.body.type).toBe(`${ERR}${type}`);
      expect(res.body.detail).toEqual(expect.any(String));
    });

    test('a failing entity in a batch leaves no trace of itself', async () => {
      const id = uniqueId();
      const res = await h().client.post('/entityOperations/create', [{ id, type: 'T', r: { type: 'Relationship', object: 1 } }], { headers });
      expect(res.status).toBe(207);
      expect(res.body.success).toEqual([]);
    });
  },
  { CIVITAS_MAX_BODY_BYTES: '65536' },
);

function nest(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { n: v };
  return v;
}
