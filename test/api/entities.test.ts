/** The entity and attribute operations (5.6, 5.7.1) over real HTTP, on each store. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeEachStore, uniqueId } from '../support/broker';

const CORE = 'https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld';
const VOCAB = 'https://uri.etsi.org/ngsi-ld/default-context/';

function airQuality(id: string) {
  return {
    id,
    type: 'AirQualityObserved',
    dateObserved: { type: 'Property', value: { '@type': 'DateTime', '@value': '2026-11-25T08:00:00Z' } },
    NO2: { type: 'Property', value: 22.5, unitCode: 'GQ', observedAt: '2026-11-25T08:00:00Z' },
    location: { type: 'GeoProperty', value: { type: 'Point', coordinates: [-3.7, 40.4] } },
    refDevice: { type: 'Relationship', object: 'urn:ngsi-ld:Device:d1' },
    name: { type: 'LanguageProperty', languageMap: { en: 'Station', es: 'Estación' } },
    category: { type: 'VocabProperty', vocab: 'urban' },
    raw: { type: 'JsonProperty', json: { a: [1, 2], b: { c: null } } },
    readings: { type: 'ListProperty', valueList: [1, 2, 3] },
    sensors: { type: 'ListRelationship', objectList: [{ object: 'urn:ngsi-ld:Device:a' }, { object: 'urn:ngsi-ld:Device:b' }] },
    temperature: {
      type: 'Property',
      value: 12,
      accuracy: { type: 'Property', value: 0.5 },
      providedBy: { type: 'Relationship', object: 'urn:ngsi-ld:Org:o1' },
    },
  };
}

describeEachStore('entities', (h) => {
  test('create then retrieve returns the entity in normalized form with a context Link', async () => {
    const id = uniqueId('AirQualityObserved');
    const created = await h().client.post('/entities', airQuality(id));
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toContain(id);
    expect(created.text).toBe('');

    const res = await h().client.get(`/entities/${id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('link')).toContain(CORE);
    expect(res.body).toEqual(airQuality(id));
  });

  test('API security headers are on every response, errors included', async () => {
    const res = await h().client.get(`/entities/${uniqueId()}`);
    expect(res.status).toBe(404);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
    expect(res.headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  test('the ngsildproof Property keeps its proof object and its sealed members, plain strings with the type compacted (4.5.2.2)', async () => {
    const id = uniqueId('Proved');
    const proof = { type: 'DataIntegrityProof', cryptosuite: 'eddsa-rdfc-2022', proofPurpose: 'assertionMethod', proofValue: 'zQeVbY4oey5q2M3X' };
    const ctx = { '@context': [{ Proved: 'https://example.org/types/Proved' }, 'https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld'] };
    const created = await h().client.post('/entities', { id, type: 'Proved', ngsildproof: { type: 'Property', value: proof, entityIdSealed: id, entityTypeSealed: 'Proved' }, ...ctx }, { headers: { 'Content-Type': 'application/ld+json' } });
    expect(created.status).toBe(201);
    const stored = await h().store.getEntity('', id);
    expect(stored?.attrs[Object.keys(stored.attrs)[0]][0]).toMatchObject({ entityIdSealed: id, entityTypeSealed: 'https://example.org/types/Proved' });
    expect(stored?.attrs[Object.keys(stored.attrs)[0]][0].sub).toBeUndefined();
    const read = await h().client.post('/entityOperations/query', { type: 'Query', entities: [{ id, type: 'Proved' }], ...ctx }, { headers: { 'Content-Type': 'application/ld+json', Accept: 'application/ld+json' } });
    expect(read.body[0].ngsildproof).toEqual({ type: 'Property', value: proof, entityIdSealed: id, entityTypeSealed: 'Proved' });
    // Concise keeps the members, so the proof cannot collapse to its bare value.
    const concise = await h().client.get(`/entities/${id}?format=concise`);
    expect(concise.body.ngsildproof).toMatchObject({ value: proof, entityIdSealed: id });
  });

  test('creating an existing id is 409 AlreadyExists', async () => {
    const id = uniqueId();
    expect((await h().client.post('/entities', { id, type: 'T' })).status).toBe(201);
    const again = await h().client.post('/entities', { id, type: 'T' });
    expect(again.status).toBe(409);
    expect(again.body.type).toBe('https://uri.etsi.org/ngsi-ld/errors/AlreadyExists');
    expect(again.body.title).toBeTruthy();
  });

  test('an unknown entity is 404 ResourceNotFound', async () => {
    const res = await h().client.get(`/entities/${uniqueId()}`);
    expect(res.status).toBe(404);
    expect(res.body.type).toBe('https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound');
  });

  test('ld+json: the context comes from the body and is returned in the body', async () => {
    const id = uniqueId();
    const context = [{ ex: 'http://example.org/ns#', speed: 'ex:speed' }, CORE];
    const created = await h().client.post(
      '/entities',
      { id, type: 'ex:Car', speed: { type: 'Property', value: 80 }, '@context': context },
      { headers: { 'Content-Type': 'application/ld+json' } },
    );
    expect(created.status).toBe(201);
    // Without the context the attribute shows as its full IRI.
    const plain = await h().client.get(`/entities/${id}`);
    expect(plain.body['http://example.org/ns#speed']).toEqual({ type: 'Property', value: 80 });
    expect(plain.body.type).toBe('http://example.org/ns#Car');
    const ld = await h().client.get(`/entities/${id}`, { headers: { Accept: 'application/ld+json' } });
    expect(ld.headers.get('content-type')).toMatch(/^application\/ld\+json/);
    expect(ld.headers.get('link')).toBeNull();
    expect(ld.body['@context']).toEqual(CORE);
  });

  test('concise input is accepted and stored as normalized', async () => {
    const id = uniqueId();
    const res = await h().client.post('/entities', {
      id,
      type: 'T',
      temperature: 21,
      address: { streetAddress: 'Main St 1' },
      owner: { object: 'urn:ngsi-ld:Person:p1' },
      location: { type: 'Point', coordinates: [1, 2] },
      pressure: { value: 1013, unitCode: 'HPA', accuracy: 0.1 },
    });
    expect(res.status).toBe(201);
    const got = await h().client.get(`/entities/${id}`);
    expect(got.body.temperature).toEqual({ type: 'Property', value: 21 });
    expect(got.body.address).toEqual({ type: 'Property', value: { streetAddress: 'Main St 1' } });
    expect(got.body.owner).toEqual({ type: 'Relationship', object: 'urn:ngsi-ld:Person:p1' });
    expect(got.body.location).toEqual({ type: 'GeoProperty', value: { type: 'Point', coordinates: [1, 2] } });
    expect(got.body.pressure).toEqual({ type: 'Property', value: 1013, unitCode: 'HPA', accuracy: { type: 'Property', value: 0.1 } });
  });

  test('representations: keyValues, concise, sysAttrs, attrs, pick, omit, lang', async () => {
    const id = uniqueId();
    await h().client.post('/entities', airQuality(id));
    const kv = await h().client.get(`/entities/${id}?options=keyValues&attrs=NO2,name,refDevice`);
    // 4.5.4: LanguageProperty, JsonProperty and VocabProperty keep a one-key wrapper.
    expect(kv.body).toEqual({ id, type: 'AirQualityObserved', NO2: 22.5, name: { languageMap: { en: 'Station', es: 'Estación' } }, refDevice: 'urn:ngsi-ld:Device:d1' });
    const kvKinds = await h().client.get(`/entities/${id}?options=keyValues&attrs=raw,category,readings,sensors`);
    expect(kvKinds.body).toMatchObject({
      raw: { json: { a: [1, 2], b: { c: null } } },
      category: { vocab: 'urban' },
      readings: [1, 2, 3],
      sensors: ['urn:ngsi-ld:Device:a', 'urn:ngsi-ld:Device:b'],
    });

    const concise = await h().client.get(`/entities/${id}?format=concise&attrs=NO2,temperature,refDevice`);
    expect(concise.body).toEqual({
      id,
      type: 'AirQualityObserved',
      NO2: { value: 22.5, unitCode: 'GQ', observedAt: '2026-11-25T08:00:00Z' },
      temperature: { value: 12, accuracy: 0.5, providedBy: { object: 'urn:ngsi-ld:Org:o1' } },
      refDevice: { object: 'urn:ngsi-ld:Device:d1' },
    });

    const sys = await h().client.get(`/entities/${id}?options=sysAttrs&attrs=NO2`);
    expect(sys.body.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/);
    expect(sys.body.modifiedAt).toBe(sys.body.createdAt);
    expect(sys.body.NO2.createdAt).toBe(sys.body.createdAt);

    const pick = await h().client.get(`/entities/${id}?pick=id,NO2`);
    expect(pick.body).toEqual({ id, NO2: airQuality(id).NO2 });
    const omit = await h().client.get(`/entities/${id}?omit=type,NO2,location,name,category,raw,readings,sensors,temperature,dateObserved`);
    expect(omit.body).toEqual({ id, refDevice: airQuality(id).refDevice });

    const lang = await h().client.get(`/entities/${id}?attrs=name&lang=es`);
    expect(lang.body.name).toEqual({ type: 'Property', value: 'Estación', lang: 'es' });
    const weighted = await h().client.get(`/entities/${id}?attrs=name&lang=${encodeURIComponent('es;q=0.4,en')}&options=keyValues`);
    expect(weighted.body.name).toBe('Station');

    expect((await h().client.get(`/entities/${id}?pick=unknownAttribute`)).status).toBe(404);
    expect((await h().client.get(`/entities/${id}?attrs=unknownAttribute`)).status).toBe(404);
    expect((await h().client.get(`/entities/${id}?type=SomethingElse`)).status).toBe(404);
    expect((await h().client.get(`/entities/${id}?pick=NO2&attrs=NO2`)).status).toBe(400);
    expect((await h().client.get(`/entities/${id}?format=bogus`)).body.type).toBe('https://uri.etsi.org/ngsi-ld/errors/InvalidRequest');
  });

  test('GeoJSON: a Feature with the chosen geometryProperty and @context in the body', async () => {
    const id = uniqueId();
    await h().client.post('/entities', airQuality(id));
    const res = await h().client.get(`/entities/${id}?attrs=NO2,location`, { headers: { Accept: 'application/geo+json' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/geo\+json/);
    expect(res.body).toMatchObject({ id, type: 'Feature', geometry: { type: 'Point', coordinates: [-3.7, 40.4] } });
    expect(res.body.properties.NO2.value).toBe(22.5);
    expect(res.body['@context']).toEqual(CORE);
    const bad = await h().client.get(`/entities/${id}?geometryProperty=location`);
    expect(bad.status).toBe(400);
  });

  test('an entity retrieved again in many forms answers each in its own, and the next change in all', async () => {
    const id = uniqueId();
    await h().client.post('/entities', { id, type: 'Car', speed: { type: 'Property', value: 80 }, location: { type: 'GeoProperty', value: { type: 'Point', coordinates: [1, 2] } } });
    // A user context that names the attribute otherwise.
    const server = createServer((_req, res) => res.end(JSON.stringify({ '@context': { velocity: `${VOCAB}speed` } })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const link = `<http://127.0.0.1:${(server.address() as AddressInfo).port}/ctx.jsonld>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`;
    type Form = { query: string; headers?: Record<string, string>; speed: (body: any, value: number) => unknown };
    const forms: Form[] = [
      { query: '', speed: (b, v) => expect(b.speed).toEqual({ type: 'Property', value: v }) },
      { query: '?options=keyValues', speed: (b, v) => expect(b).toEqual({ id, type: 'Car', speed: v, location: { type: 'Point', coordinates: [1, 2] } }) },
      { query: '?format=concise&options=sysAttrs', speed: (b, v) => expect(b.speed).toEqual({ value: v, createdAt: b.createdAt, modifiedAt: b.modifiedAt }) },
      { query: '?attrs=speed', speed: (b, v) => expect(b).toEqual({ id, type: 'Car', speed: { type: 'Property', value: v } }) },
      { query: '?options=sysAttrs', speed: (b, v) => expect(b.speed).toMatchObject({ value: v, modifiedAt: b.modifiedAt }) },
      { query: '', headers: { Accept: 'application/ld+json' }, speed: (b, v) => expect(b).toMatchObject({ speed: { value: v }, '@context': CORE }) },
      { query: '', headers: { Accept: 'application/geo+json' }, speed: (b, v) => expect(b).toMatchObject({ type: 'Feature', properties: { speed: { value: v } }, '@context': CORE }) },
      { query: '', headers: { Accept: 'application/geo+json', Prefer: 'body=json' }, speed: (b, v) => expect([b['@context'], b.properties.speed.value]).toEqual([undefined, v]) },
      { query: '', headers: { Link: link }, speed: (b, v) => expect([b.velocity.value, b.speed]).toEqual([v, undefined]) },
      { query: '', headers: { Link: link, Accept: 'application/ld+json' }, speed: (b, v) => expect(b.velocity.value).toBe(v) },
    ];
    const retrieveAll = async (value: number) => {
      const answers = [];
      for (const form of forms) {
        const res = await h().client.get(`/entities/${id}${form.query}`, { headers: form.headers });
        expect(res.status).toBe(200);
        form.speed(res.body, value);
        answers.push({ type: res.headers.get('content-type'), link: res.headers.get('link'), text: res.text });
      }
      return answers;
    };
    try {
      const first = await retrieveAll(80);
      // The same answers again, each form twice in a row.
      for (const form of forms) {
        const once = await h().client.get(`/entities/${id}${form.query}`, { headers: form.headers });
        expect((await h().client.get(`/entities/${id}${form.query}`, { headers: form.headers })).text).toBe(once.text);
      }
      expect(await retrieveAll(80)).toEqual(first);
      expect(new Set(first.map((a) => a.text)).size).toBe(forms.length);
      expect(first.map((a) => a.link === null)).toEqual([false, false, false, false, false, true, true, false, false, true]);
      expect((await h().client.patch(`/entities/${id}/attrs`, { speed: { type: 'Property', value: 95 } })).status).toBe(204);
      await retrieveAll(95);
    } finally {
      server.close();
    }
  });

  test('append, with and without noOverwrite', async () => {
    const id = uniqueId();
    await h().client.post('/entities', { id, type: 'T', a: 1 });
    const appended = await h().client.post(`/entities/${id}/attrs`, { a: 2, b: 3 });
    expect(appended.status).toBe(204);
    const kept = await h().client.post(`/entities/${id}/attrs?options=noOverwrite`, { a: 9, c: 4 });
    expect(kept.status).toBe(207);
    // 207 bodies take no @context, so they name attributes by full IRI (6.3.6).
    expect(kept.body.updated).toEqual([`${VOCAB}c`]);
    expect(kept.body.notUpdated).toEqual([expect.objectContaining({ attributeName: `${VOCAB}a` })]);
    const got = await h().client.get(`/entities/${id}?options=keyValues`);
    expect(got.body).toEqual({ id, type: 'T', a: 2, b: 3, c: 4 });
  });

  test('update attributes replaces existing ones and appends the others (V1.9.1 5.6.2.4)', async () => {
    const id = uniqueId();
    await h().client.post('/entities', { id, type: 'T', a: 1 });
    const res = await h().client.patch(`/entities/${id}/attrs`, { a: 5, z: 1 });
    expect(res.status).toBe(204);
    expect((await h().client.get(`/entities/${id}?options=keyValues`)).body).toEqual({ id, type: 'T', a: 5, z: 1 });
    const missing = await h().client.patch(`/entities/${id}/attrs`, { a: 6, gone: null });
    expect(missing.status).toBe(207);
    expect(missing.body.notUpdated[0].attributeName).toBe(`${VOCAB}gone`);
    expect((await h().client.get(`/entities/${id}?options=keyValues`)).body).toEqual({ id, type: 'T', a: 6, z: 1 });
  });

  test('partial attribute update merges members; replace attribute replaces them', async () => {
    const id = uniqueId();
    await h().client.post('/entities', { id, type: 'T', t: { type: 'Property', value: 1, unitCode: 'CEL', acc: 0.1 } });
    expect((await h().client.patch(`/entities/${id}/attrs/t`, { value: 2 })).status).toBe(204);
    expect((await h().client.get(`/entities/${id}`)).body.t).toEqual({ type: 'Property', value: 2, unitCode: 'CEL', acc: { type: 'Property', value: 0.1 } });
    expect((await h().client.put(`/entities/${id}/attrs/t`, { type: 'Property', value: 3 })).status).toBe(204);
    expect((await h().client.get(`/entities/${id}`)).body.t).toEqual({ type: 'Property', value: 3 });
    expect((await h().client.patch(`/entities/${id}/attrs/nope`, { value: 2 })).status).toBe(404);
    expect((await h().client.put(`/entities/${id}/attrs/nope`, { value: 2 })).status).toBe(404);
  });

  test('datasetId instances: separate, rendered as an array, deleted one by one or all', async () => {
    const id = uniqueId();
    await h().client.post('/entities', {
      id,
      type: 'T',
      speed: [
        { type: 'Property', value: 10 },
        { type: 'Property', value: 11, datasetId: 'urn:ngsi-ld:Dataset:gps' },
        { type: 'Property', value: 12, datasetId: 'urn:ngsi-ld:Dataset:radar' },
      ],
    });
    const got = await h().client.get(`/entities/${id}`);
    expect(got.body.speed).toHaveLength(3);
    const simplified = await h().client.get(`/entities/${id}?options=keyValues`);
    expect(simplified.body.speed).toEqual({ dataset: { '@none': 10, 'urn:ngsi-ld:Dataset:gps': 11, 'urn:ngsi-ld:Dataset:radar': 12 } });
    const one = await h().client.get(`/entities/${id}?datasetId=urn:ngsi-ld:Dataset:gps`);
    expect(one.body.speed).toEqual({ type: 'Property', value: 11, datasetId: 'urn:ngsi-ld:Dataset:gps' });
    expect((await h().client.delete(`/entities/${id}/attrs/speed?datasetId=urn:ngsi-ld:Dataset:gps`)).status).toBe(204);
    expect((await h().client.delete(`/entities/${id}/attrs/speed?datasetId=urn:ngsi-ld:Dataset:gps`)).status).toBe(404);
    expect((await h().client.get(`/entities/${id}`)).body.speed).toHaveLength(2);
    expect((await h().client.delete(`/entities/${id}/attrs/speed?deleteAll=true`)).status).toBe(204);
    expect((await h().client.get(`/entities/${id}`)).body.speed).toBeUndefined();
  });

  test('merge-patch: merges, adds, deletes with urn:ngsi-ld:null, keeps createdAt', async () => {
    const id = uniqueId();
    await h().client.post('/entities', { id, type: 'T', a: { type: 'Property', value: 1, sub: 1 }, b: 2, c: 3 });
    const before = (await h().client.get(`/entities/${id}?options=sysAttrs`)).body;
    const res = await h().client.patch(`/entities/${id}`, { a: { value: 10 }, b: 'urn:ngsi-ld:null', d: 4 }, { headers: { 'Content-Type': 'application/merge-patch+json' } });
    expect(res.status).toBe(204);
    const after = (await h().client.get(`/entities/${id}?options=sysAttrs`)).body;
    expect(after.createdAt).toBe(before.createdAt);
    expect(after.modifiedAt > before.modifiedAt).toBe(true);
    const kv = (await h().client.get(`/entities/${id}`)).body;
    expect(kv.a).toEqual({ type: 'Property', value: 10, sub: { type: 'Property', value: 1 } });
    expect(kv.b).toBeUndefined();
    expect(kv.c).toEqual({ type: 'Property', value: 3 });
    expect(kv.d).toEqual({ type: 'Property', value: 4 });
  });

  test('replace entity keeps id and createdAt, replaces the rest', async () => {
    const id = uniqueId();
    await h().client.post('/entities', { id, type: 'T', a: 1, b: 2 });
    const res = await h().client.put(`/entities/${id}`, { type: 'U', c: 3 });
    expect(res.status).toBe(204);
    expect((await h().client.get(`/entities/${id}?options=keyValues`)).body).toEqual({ id, type: 'U', c: 3 });
  });

  test('delete entity, then 404', async () => {
    const id = uniqueId();
    await h().client.post('/entities', { id, type: 'T' });
    expect((await h().client.delete(`/entities/${id}`)).status).toBe(204);
    expect((await h().client.get(`/entities/${id}`)).status).toBe(404);
    expect((await h().client.delete(`/entities/${id}`)).status).toBe(404);
  });

  test('an unknown term expands with the core @vocab and compacts back', async () => {
    const id = uniqueId();
    await h().client.post('/entities', { id, type: 'Widget', colour: 'red' });
    const res = await h().client.get(`/entities/${id}`, { headers: { Accept: 'application/ld+json' } });
    expect(res.body.colour.value).toBe('red');
    // A request with a context that maps the term elsewhere does not see it under that name.
    const stored = await h().store.getEntity('', id);
    expect(Object.keys(stored!.attrs)).toEqual([`${VOCAB}colour`]);
    expect(stored!.types).toEqual([`${VOCAB}Widget`]);
  });
});
