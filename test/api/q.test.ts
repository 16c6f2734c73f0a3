/** The q language evaluated in SQL (4.9), on each store. */
import { describeEachStore } from '../support/broker';

describeEachStore('q queries', (h) => {
  const type = `Sensor${Date.now().toString(36)}`;
  const id = (n: number) => `urn:ngsi-ld:${type}:${n}`;

  beforeAll(async () => {
    const entities = [
      { id: id(1), type, temperature: { type: 'Property', value: 21.5, observedAt: '2026-11-25T08:00:00Z', accuracy: 0.5 }, status: 'ok', tags: ['a', 'b'], lot: { type: 'Relationship', object: 'urn:ngsi-ld:Lot:1' }, address: { city: 'Bonn', zip: '53111' } },
      { id: id(2), type, temperature: { type: 'Property', value: 30, observedAt: '2026-11-25T12:00:00Z', accuracy: 2 }, status: 'alarm', tags: ['c'], lot: { type: 'Relationship', object: 'urn:ngsi-ld:Lot:2' }, address: { city: 'Köln' } },
      { id: id(3), type, temperature: [{ type: 'Property', value: 10 }, { type: 'Property', value: 40, datasetId: 'urn:ngsi-ld:Dataset:raw' }], status: 'ok', open: true, since: { type: 'Property', value: { '@type': 'DateTime', '@value': '2026-01-01T00:00:00Z' } } },
      { id: id(4), type, status: 5, label: { type: 'LanguageProperty', languageMap: { en: 'red', fr: 'rouge' } } },
      { id: id(5), type, label: { type: 'LanguageProperty', languageMap: { es: 'rouge' } } },
    ];
    expect((await h().client.post('/entityOperations/create', entities)).status).toBe(201);
  });

  async function ids(q: string): Promise<number[]> {
    const res = await h().client.get(`/entities?type=${type}&q=${encodeURIComponent(q)}`);
    expect(res.status).toBe(200);
    return res.body.map((e: { id: string }) => Number(e.id.split(':').pop())).sort();
  }

  test('comparisons on numbers, strings and booleans; other JSON types never match', async () => {
    expect(await ids('temperature>21.5')).toEqual([2, 3]);
    expect(await ids('temperature<=21.5')).toEqual([1, 3]);
    expect(await ids('status=="ok"')).toEqual([1, 3]);
    expect(await ids('status==5')).toEqual([4]);
    expect(await ids('status>"b"')).toEqual([1, 3]);
    expect(await ids('open==true')).toEqual([3]);
  });

  test('!= matches values of another type, but needs the attribute', async () => {
    expect(await ids('status!="ok"')).toEqual([2, 4]);
    expect(await ids('open!=true')).toEqual([]);
  });

  test('ranges, lists, patterns, and arrays containing the value', async () => {
    expect(await ids('temperature==20..35')).toEqual([1, 2]);
    expect(await ids('temperature!=20..35')).toEqual([3]);
    expect(await ids('status=="alarm","ok"')).toEqual([1, 2, 3]);
    expect(await ids('status~="^al"')).toEqual([2]);
    expect(await ids('status!~="^al"')).toEqual([1, 3, 4]);
    expect(await ids('tags=="b"')).toEqual([1]);
  });

  test('any instance of a multi-instance attribute may match', async () => {
    expect(await ids('temperature>35')).toEqual([3]);
  });

  test('a language of a LanguageProperty, or any of them with [*]', async () => {
    expect(await ids('label[en]=="red"')).toEqual([4]);
    expect(await ids('label[fr]=="red"')).toEqual([]);
    expect(await ids('label[*]=="rouge"')).toEqual([4, 5]);
    expect((await h().client.get(`/entities?type=${type}&q=${encodeURIComponent('label[*')}`)).status).toBe(400);
  });

  test('AND, OR and parentheses', async () => {
    expect(await ids('status=="ok";temperature>15')).toEqual([1, 3]);
    expect(await ids('status=="alarm"|open==true')).toEqual([2, 3]);
    expect(await ids('(status=="alarm"|open==true);temperature<20')).toEqual([3]);
  });

  test('existence and absence', async () => {
    expect(await ids('open')).toEqual([3]);
    expect(await ids('!temperature')).toEqual([4, 5]);
  });

  test('sub-attributes, metadata, compound members and date-times', async () => {
    expect(await ids('temperature.accuracy>1')).toEqual([2]);
    expect(await ids('temperature.observedAt>=2026-11-25T10:00:00Z')).toEqual([2]);
    expect(await ids('address[city]=="Bonn"')).toEqual([1]);
    expect(await ids('address[zip]')).toEqual([1]);
    expect(await ids('since<2026-06-01T00:00:00Z')).toEqual([3]);
  });

  test('relationships compare with == and != only', async () => {
    expect(await ids('lot==urn:ngsi-ld:Lot:2')).toEqual([2]);
    expect(await ids('lot!=urn:ngsi-ld:Lot:2')).toEqual([1]);
    expect(await ids('lot>"urn:ngsi-ld:Lot:0"')).toEqual([]);
  });

  test('indexed comparisons follow updates and deletions', async () => {
    expect(await ids('status>4')).toEqual([4]);
    expect((await h().client.patch(`/entities/${id(4)}/attrs`, { status: 99 })).status).toBe(204);
    expect(await ids('status>50')).toEqual([4]);
    expect(await ids('status<50')).toEqual([]);
    expect((await h().client.patch(`/entities/${id(4)}/attrs`, { status: 5 })).status).toBe(204);
    expect(await ids('status==4..6')).toEqual([4]);
  });

  test('q alone is a valid query; a malformed one is 400 naming the position', async () => {
    const res = await h().client.get(`/entities?q=${encodeURIComponent('status=="alarm"')}`);
    expect(res.body.map((e: { id: string }) => e.id)).toContain(id(2));
    const bad = await h().client.get(`/entities?type=${type}&q=${encodeURIComponent('(status==1')}`);
    expect(bad.status).toBe(400);
    expect(bad.body.type).toBe('https://uri.etsi.org/ngsi-ld/errors/BadRequestData');
    expect(bad.body.detail).toMatch(/position 10/);
  });
});

describeEachStore('POST /entityOperations/query', (h) => {
  const type = `Bin${Date.now().toString(36)}`;
  const id = (n: number) => `urn:ngsi-ld:${type}:${n}`;

  beforeAll(async () => {
    const entities = [
      { id: id(1), type, fill: 10, location: { type: 'Point', coordinates: [2.17, 41.38] } },
      { id: id(2), type, fill: 90, location: { type: 'Point', coordinates: [2.18, 41.39] } },
      { id: id(3), type: `${type}Other`, fill: 95 },
    ];
    expect((await h().client.post('/entityOperations/create', entities)).status).toBe(201);
  });

  const query = (body: unknown, qs = '') => h().client.post(`/entityOperations/query${qs}`, body);

  test('entity selectors are alternatives; q, attrs and paging apply', async () => {
    const res = await query({ type: 'Query', entities: [{ type }, { id: id(3), type: `${type}Other` }], q: 'fill>50', attrs: ['fill'] }, '?count=true&options=keyValues');
    expect(res.status).toBe(200);
    expect(res.headers.get('ngsild-results-count')).toBe('2');
    expect(res.body).toEqual([
      { id: id(2), type, fill: 90 },
      { id: id(3), type: `${type}Other`, fill: 95 },
    ]);
  });

  test('a selector names one id or several, and its id wins over its idPattern', async () => {
    const ids = async (selector: object) => (await query({ type: 'Query', entities: [selector] })).body.map((e: { id: string }) => e.id);
    expect(await ids({ type, id: [id(1), id(2)] })).toEqual([id(1), id(2)]);
    expect(await ids({ type, id: id(1), idPattern: `${id(2)}$` })).toEqual([id(1)]);
    expect(await ids({ type, idPattern: `${id(2)}$` })).toEqual([id(2)]);
  });

  test('geoQ and pick in the body', async () => {
    const res = await query({ type: 'Query', entities: [{ type }], geoQ: { georel: 'near;maxDistance==500', geometry: 'Point', coordinates: [2.17, 41.38] }, pick: ['id'] });
    expect(res.body).toEqual([{ id: id(1) }]);
  });

  test.each([
    [{ entities: [{ type: 'x' }] }, /Query/],
    [{ type: 'Query', entities: [] }, /entities/],
    [{ type: 'Query', attrs: [] }, /attrs/],
    [{ type: 'Query', q: 5 }, /q must be a string/],
    [{ type: 'Query', geoQ: { georel: 5, geometry: 'Point', coordinates: [1, 2] } }, /strings/],
    [{ type: 'Query' }, /at least one/],
    [{ type: 'Query', entities: [{ id: 'urn:ngsi-ld:T:1' }] }, /needs a type/],
    [{ type: 'Query', entities: [{ type: 'T', id: 'not a uri' }] }, /URI/],
    [{ type: 'Query', entities: [{ type: 'T', id: ['urn:ngsi-ld:T:1', 5] }] }, /URI/],
  ])('bad Query body %j is 400', async (body, why) => {
    const res = await query(body);
    expect(res.status).toBe(400);
    expect(res.body.type).toBe('https://uri.etsi.org/ngsi-ld/errors/BadRequestData');
    expect(res.body.detail).toMatch(why);
  });
});

describeEachStore('scopeQ', (h) => {
  const type = `Scoped${Date.now().toString(36)}`;
  const id = (n: number) => `urn:ngsi-ld:${type}:${n}`;

  beforeAll(async () => {
    const entities = [
      { id: id(1), type, scope: '/Madrid' },
      { id: id(2), type, scope: ['/Madrid/Parks', '/Owners/City'] },
      { id: id(3), type, scope: '/Madrid/Parks/North' },
      { id: id(4), type },
    ];
    expect((await h().client.post('/entityOperations/create', entities)).status).toBe(201);
  });

  async function ids(scopeQ: string): Promise<number[]> {
    const res = await h().client.get(`/entities?type=${type}&scopeQ=${encodeURIComponent(scopeQ)}`);
    expect(res.status).toBe(200);
    return res.body.map((e: { id: string }) => Number(e.id.split(':').pop())).sort();
  }

  test('exact paths, + for one level, # for any depth, ; and , to combine', async () => {
    expect(await ids('/Madrid')).toEqual([1]);
    expect(await ids('/Madrid/+')).toEqual([2]);
    expect(await ids('/Madrid/#')).toEqual([1, 2, 3]);
    expect(await ids('/#')).toEqual([1, 2, 3]);
    expect(await ids('/Madrid/Parks;/Owners/City')).toEqual([2]);
    expect(await ids('/Madrid,/Madrid/Parks/North')).toEqual([1, 3]);
    const bad = await h().client.get(`/entities?type=${type}&scopeQ=Madrid`);
    expect(bad.status).toBe(400);
  });
});
