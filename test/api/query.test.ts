/** GET /entities with the basic selectors, counting and pagination (5.7.2, 5.5.9). */
import { describeEachStore, uniqueId } from '../support/broker';

describeEachStore('query entities', (h) => {
  const type = `Parking${Date.now().toString(36)}`;
  const ids: string[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 5; i++) ids.push(`urn:ngsi-ld:${type}:${i}`);
    const entities = ids.map((id, i) => ({ id, type, free: i, ...(i % 2 === 0 ? { even: true } : {}) }));
    const res = await h().client.post('/entityOperations/create', entities);
    expect(res.status).toBe(201);
  });

  test('by type, in id order, with count', async () => {
    const res = await h().client.get(`/entities?type=${type}&count=true`);
    expect(res.status).toBe(200);
    expect(res.body.map((e: { id: string }) => e.id)).toEqual(ids);
    expect(res.headers.get('ngsild-results-count')).toBe('5');
  });

  test('type expressions: , and | for either, ; for both, parentheses', async () => {
    const other = `${type}Other`;
    const both = `urn:ngsi-ld:${type}:both`;
    expect((await h().client.post('/entities', { id: both, type: [type, other] })).status).toBe(201);
    try {
      const names = async (expr: string) => (await h().client.get(`/entities?type=${encodeURIComponent(expr)}&limit=100`)).body.map((e: { id: string }) => e.id);
      expect(await names(`${type};${other}`)).toEqual([both]);
      expect(await names(`${other}|${type}Nothing`)).toEqual([both]);
      expect(await names(`(${other};${type})|${type}Nothing`)).toEqual([both]);
      expect((await names(`${type},${other}`)).length).toBe(6);
      const all = (await h().client.get('/entities?type=*&count=true&limit=1')).headers.get('ngsild-results-count');
      expect(Number(all)).toBeGreaterThanOrEqual(6);
      const bad = await h().client.get(`/entities?type=${encodeURIComponent(`(${type}`)}`);
      expect(bad.status).toBe(400);
      expect(bad.body.detail).toMatch(/position/);
    } finally {
      await h().client.delete(`/entities/${both}`);
    }
  });

  test('by id list and idPattern', async () => {
    const byId = await h().client.get(`/entities?type=${type}&id=${ids[1]},${ids[3]}`);
    expect(byId.body.map((e: { id: string }) => e.id)).toEqual([ids[1], ids[3]]);
    const byPattern = await h().client.get(`/entities?type=${type}&idPattern=${encodeURIComponent('.*:[34]$')}`);
    expect(byPattern.body.map((e: { id: string }) => e.id)).toEqual([ids[3], ids[4]]);
  });

  test('attrs selects entities having the attribute and projects it', async () => {
    const res = await h().client.get(`/entities?type=${type}&attrs=even&options=keyValues`);
    expect(res.body).toEqual([0, 2, 4].map((i) => ({ id: ids[i], type, even: true })));
  });

  test('pagination: limit / offset with prev and next links', async () => {
    const first = await h().client.get(`/entities?type=${type}&limit=2&idPattern=${encodeURIComponent('urn:.*')}`);
    expect(first.body).toHaveLength(2);
    const link = first.headers.get('link') ?? '';
    // The request's parameters in name order, percent-encoded only where a query component needs it.
    expect(link).toContain(`</ngsi-ld/v1/entities?idPattern=urn:.*&limit=2&offset=2&type=${type}>;rel="next";type="application/json"`);
    expect(link).not.toContain('rel="prev"');
    const middle = await h().client.get(`/entities?type=${type}&limit=2&offset=2`);
    expect(middle.body.map((e: { id: string }) => e.id)).toEqual([ids[2], ids[3]]);
    expect(middle.headers.get('link')).toContain(`limit=2&offset=0&type=${type}>;rel="prev"`);
    expect(middle.headers.get('link')).toContain(`limit=2&offset=4&type=${type}>;rel="next"`);
    const last = await h().client.get(`/entities?type=${type}&limit=2&offset=4`);
    expect(last.body).toHaveLength(1);
    expect(last.headers.get('link')).not.toContain('rel="next"');
  });

  test('limit=0 with count returns only the count; without count it is 400', async () => {
    const counted = await h().client.get(`/entities?type=${type}&limit=0&count=true`);
    expect(counted.body).toEqual([]);
    expect(counted.headers.get('ngsild-results-count')).toBe('5');
    expect((await h().client.get(`/entities?type=${type}&limit=0`)).status).toBe(400);
  });

  test('limit above the maximum, a negative offset, a too wide query: 400', async () => {
    for (const qs of [`type=${type}&limit=5000`, `type=${type}&offset=-1`, '', `id=${ids[0]}`, `type=${type}&attrs=id,type`]) {
      const res = await h().client.get(`/entities?${qs}`);
      expect(res.status).toBe(400);
      expect(res.body.type).toBe('https://uri.etsi.org/ngsi-ld/errors/BadRequestData');
    }
  });

  test('local=true is narrow enough on its own (5.7.2.4 e)', async () => {
    const res = await h().client.get(`/entities?local=true&id=${ids[0]}`);
    expect(res.status).toBe(200);
    expect(res.body.map((e: { id: string }) => e.id)).toEqual([ids[0]]);
    expect((await h().client.get('/entities?local=maybe')).status).toBe(400);
  });

  test('GeoJSON answers a FeatureCollection', async () => {
    const id = uniqueId('Spot');
    await h().client.post('/entities', { id, type: `${type}Geo`, location: { type: 'Point', coordinates: [2, 41] } });
    const res = await h().client.get(`/entities?type=${type}Geo`, { headers: { Accept: 'application/geo+json' } });
    expect(res.body.type).toBe('FeatureCollection');
    expect(res.body.features[0]).toMatchObject({ id, type: 'Feature', geometry: { type: 'Point', coordinates: [2, 41] } });
  });
});

describeEachStore('purge entities', (h) => {
  const type = `Purge${Date.now().toString(36)}`;
  const seed = async () => {
    const entities = [1, 2, 3].map((i) => ({ id: `urn:ngsi-ld:${type}:${i}`, type, a: i, b: i }));
    expect((await h().client.post('/entityOperations/upsert', entities)).status).toBeLessThan(300);
  };

  test('a purge must be narrowed by type, attrs, q or local; keep and drop exclude each other; no q on linked entities', async () => {
    await seed();
    const linked = `type=${type}&q=${encodeURIComponent('owner{name}=="x"')}`;
    for (const qs of ['', `id=urn:ngsi-ld:${type}:1`, 'idPattern=.*', 'attrs=createdAt', `type=${type}&keep=a&drop=b`, linked]) {
      const res = await h().client.delete(`/entities?${qs}`);
      expect(res.status).toBe(400);
      expect(res.body.type).toBe('https://uri.etsi.org/ngsi-ld/errors/BadRequestData');
    }
    expect((await h().client.get(`/entities?type=${type}&count=true&limit=0`)).headers.get('ngsild-results-count')).toBe('3');
  });

  test('drop and keep remove attributes; a plain purge deletes the entities', async () => {
    await seed();
    expect((await h().client.delete(`/entities?type=${type}&drop=a`)).status).toBe(204);
    expect((await h().client.get(`/entities?type=${type}&options=keyValues`)).body.map((e: Record<string, unknown>) => Object.keys(e).sort())).toEqual([
      ['b', 'id', 'type'],
      ['b', 'id', 'type'],
      ['b', 'id', 'type'],
    ]);
    await seed();
    expect((await h().client.delete(`/entities?type=${type}&keep=a`)).status).toBe(204);
    expect((await h().client.get(`/entities?type=${type}&options=keyValues&limit=1`)).body).toEqual([{ id: `urn:ngsi-ld:${type}:1`, type, a: 1 }]);
    expect((await h().client.delete(`/entities?type=${type}&idPattern=${encodeURIComponent(':[12]$')}`)).status).toBe(204);
    expect((await h().client.get(`/entities?type=${type}`)).body.map((e: { id: string }) => e.id)).toEqual([`urn:ngsi-ld:${type}:3`]);
  });
});

describeEachStore('orderBy', (h) => {
  const type = `Ordered${Date.now().toString(36)}`;
  const id = (n: number) => `urn:ngsi-ld:${type}:${n}`;

  beforeAll(async () => {
    // Created one by one, so that createdAt orders them 2, 1, 3.
    for (const [n, name, sub] of [[2, 'B', 2], [1, 'A', 1], [3, 'C', 3]] as const) {
      const res = await h().client.post('/entities', { id: id(n), type, name: { type: 'Property', value: name, rank: sub } });
      expect(res.status).toBe(201);
    }
  });

  const order = async (orderBy: string) =>
    (await h().client.get(`/entities?type=${type}&orderBy=${encodeURIComponent(orderBy)}`)).body.map((e: { id: string }) => Number(e.id.split(':').pop()));

  test('by attribute, id, createdAt, sub-attribute and metadata, ascending or descending', async () => {
    expect(await order('name')).toEqual([1, 2, 3]);
    expect(await order('name;desc')).toEqual([3, 2, 1]);
    expect(await order('id;desc')).toEqual([3, 2, 1]);
    expect(await order('createdAt')).toEqual([2, 1, 3]);
    expect(await order('name.createdAt')).toEqual([2, 1, 3]);
    expect(await order('name.rank;desc')).toEqual([3, 2, 1]);
    expect(await order('type;asc,name;desc')).toEqual([3, 2, 1]);
    const counted = await h().client.get(`/entities?type=${type}&orderBy=name.rank&count=true&limit=1`);
    expect(counted.headers.get('ngsild-results-count')).toBe('3');
    expect(counted.body[0].id).toBe(id(1));
  });

  test('a malformed orderBy is 400', async () => {
    const res = await h().client.get(`/entities?type=${type}&orderBy=${encodeURIComponent('name;sideways')}`);
    expect(res.status).toBe(400);
  });
  test('by distance from orderFrom, by a member of a compound value, in the datatype order of 4.23.2', async () => {
    const t = `${type}Geo`;
    const spots = [
      // near [8,40]: a number rank, Amsterdam; mid: a string rank, Berlin; far: no rank, Zurich.
      { id: `urn:ngsi-ld:${t}:near`, at: [8.01, 40.01], rank: 5, city: 'Amsterdam' },
      { id: `urn:ngsi-ld:${t}:mid`, at: [9, 41], rank: 'abc', city: 'Berlin' },
      { id: `urn:ngsi-ld:${t}:far`, at: [10, 45], rank: undefined, city: 'Zurich' },
    ];
    for (const s of spots) {
      const body: Record<string, unknown> = {
        id: s.id,
        type: t,
        location: { type: 'GeoProperty', value: { type: 'Point', coordinates: s.at } },
        address: { type: 'Property', value: { city: s.city } },
      };
      if (s.rank !== undefined) body.rank = { type: 'Property', value: s.rank };
      expect((await h().client.post('/entities', body)).status).toBe(201);
    }
    const ids = async (query: string) => {
      const res = await h().client.get(`/entities?type=${t}&${query}`);
      expect(res.status).toBe(200);
      return res.body.map((e: { id: string }) => e.id.split(':').pop());
    };
    const from = `orderFrom=${encodeURIComponent('[8,40]')}`;
    expect(await ids(`orderBy=${encodeURIComponent('location;dist-asc')}&${from}`)).toEqual(['near', 'mid', 'far']);
    expect(await ids(`orderBy=${encodeURIComponent('location;dist-desc')}&${from}`)).toEqual(['far', 'mid', 'near']);
    // Numbers before strings, an absent attribute last, in both directions.
    expect(await ids('orderBy=rank')).toEqual(['near', 'mid', 'far']);
    expect(await ids(`orderBy=${encodeURIComponent('rank;desc')}`)).toEqual(['mid', 'near', 'far']);
    expect(await ids(`orderBy=${encodeURIComponent('address[city];desc')}`)).toEqual(['far', 'mid', 'near']);
    // The Query body carries the same as OrderingParams (5.2.43).
    const posted = await h().client.post('/entityOperations/query', {
      type: 'Query',
      entities: [{ type: t }],
      ordering: { orderBy: ['location;dist-desc'], coordinates: [10, 45], geometry: 'Point' },
    });
    expect(posted.body.map((e: { id: string }) => e.id.split(':').pop())).toEqual(['near', 'mid', 'far']);
  });

  test('strings compare by ICU root collation, or by the collation asked for', async () => {
    const t = `${type}Coll`;
    for (const [n, name] of [[1, 'Zebra'], [2, 'b'], [3, 'á'], [4, 'Ähre'], [5, 'A']] as const) {
      expect((await h().client.post('/entities', { id: `urn:ngsi-ld:${t}:${n}`, type: t, name: { type: 'Property', value: name } })).status).toBe(201);
    }
    const names = async (query: string) => {
      const res = await h().client.get(`/entities?type=${t}&orderBy=name&options=keyValues${query}`);
      expect(res.status).toBe(200);
      return res.body.map((e: { name: string }) => e.name);
    };
    expect(await names('')).toEqual(['A', 'á', 'Ähre', 'b', 'Zebra']);
    expect(await names('&collation=und')).toEqual(['A', 'á', 'Ähre', 'b', 'Zebra']);
    const swedish = await h().client.get(`/entities?type=${t}&orderBy=name&options=keyValues&collation=sv`);
    if (h().store.driver === 'postgres') {
      // Swedish sorts Ä after Z.
      expect(swedish.body.map((e: { name: string }) => e.name)).toEqual(['A', 'á', 'b', 'Zebra', 'Ähre']);
    } else {
      // PGlite carries ICU's root collation only: a language it cannot sort by is refused, not approximated.
      expect(swedish.status).toBe(400);
      expect(swedish.body.detail).toContain('not available in this store');
    }
  });

  test.each([
    ['dist-asc without orderFrom', `orderBy=${encodeURIComponent('location;dist-asc')}`],
    ['orderFrom that is not coordinates', `orderBy=${encodeURIComponent('location;dist-asc')}&orderFrom=8,40`],
    ['orderGeometry that is not a geometry type', `orderBy=${encodeURIComponent('location;dist-asc')}&orderFrom=${encodeURIComponent('[8,40]')}&orderGeometry=Circle`],
    ['a collation that is not a BCP 47 tag', 'orderBy=name&collation=!!nope'],
    ['a collation of a language ICU does not know', 'orderBy=name&collation=xq'],
    ['collation without orderBy', 'collation=de'],
    ['a distance order on an entity member', `orderBy=${encodeURIComponent('id;dist-asc')}&orderFrom=${encodeURIComponent('[8,40]')}`],
  ])('%s is 400 BadRequestData', async (_, query) => {
    const res = await h().client.get(`/entities?type=${type}&${query}`);
    expect(res.status).toBe(400);
    expect(res.body.type).toBe('https://uri.etsi.org/ngsi-ld/errors/BadRequestData');
  });
});

describeEachStore('q on linked entities, expandValues, jsonKeys', (h) => {
  const type = `Linked${Date.now().toString(36)}`;
  const building = `urn:ngsi-ld:${type}:building`;
  const tower = `urn:ngsi-ld:${type}Tower:pisa`;
  const owner = `urn:ngsi-ld:${type}Owner:opera`;

  beforeAll(async () => {
    const entities = [
      { id: owner, type: `${type}Owner`, name: { type: 'Property', value: 'Opera' } },
      { id: tower, type: `${type}Tower`, name: { type: 'Property', value: 'Pisa Tower' }, ownedBy: { type: 'Relationship', object: owner } },
      {
        id: building,
        type,
        managedBy: { type: 'Relationship', object: tower },
        category: { type: 'VocabProperty', vocab: 'commercial' },
        ticket: { type: 'JsonProperty', json: { value: 'Overstay 60 minutes' } },
      },
    ];
    for (const e of entities) expect((await h().client.post('/entities', e)).status).toBe(201);
  });

  const count = async (query: string) => {
    const res = await h().client.get(`/entities?type=${type}&count=true&${query}`);
    expect(res.status).toBe(200);
    return Number(res.headers.get('ngsild-results-count'));
  };
  const q = (text: string) => `q=${encodeURIComponent(text)}`;

  test('rel{attr} matches through the entity the Relationship points at, narrowed by a type hint', async () => {
    expect(await count(`${q('managedBy{name}=="Pisa Tower"')}&join=inline`)).toBe(1);
    expect(await count(`${q('managedBy{name}=="Eiffel Tower"')}&join=inline`)).toBe(0);
    expect(await count(`${q(`managedBy{${type}Tower:name}=="Pisa Tower"`)}&join=flat`)).toBe(1);
    expect(await count(`${q(`managedBy{${type}Owner,Vehicle:name}=="Pisa Tower"`)}&join=flat`)).toBe(0);
    expect(await count(`${q('managedBy{name}')}&join=inline`)).toBe(1);
    expect(await count(`${q('!managedBy{ownedBy}')}&join=inline`)).toBe(0);
    // Two Relationships deep, within the join depth asked for.
    expect(await count(`${q('managedBy{ownedBy{name}}=="Opera"')}&join=inline&joinLevel=2`)).toBe(1);
    expect(await count(`${q('managedBy{ownedBy{name}}~="^Op"')}&join=inline&joinLevel=2`)).toBe(1);
  });

  test('a linked q without a join, or deeper than joinLevel, is 400', async () => {
    for (const query of [q('managedBy{name}=="Pisa Tower"'), `${q('managedBy{ownedBy{name}}=="Opera"')}&join=inline&joinLevel=1`]) {
      const res = await h().client.get(`/entities?type=${type}&${query}`);
      expect(res.status).toBe(400);
      expect(res.body.type).toBe('https://uri.etsi.org/ngsi-ld/errors/BadRequestData');
    }
  });

  test('expandValues compares the expanded term; jsonKeys keeps member names of raw JSON as written', async () => {
    expect(await count(q('category==commercial'))).toBe(0);
    expect(await count(`${q('category==commercial')}&expandValues=category`)).toBe(1);
    expect(await count(`${q('ticket[value]=="Overstay 60 minutes"')}&jsonKeys=ticket`)).toBe(1);
  });

  test('the same through POST /entityOperations/query', async () => {
    const post = (body: Record<string, unknown>) => h().client.post('/entityOperations/query?count=true', { type: 'Query', entities: [{ type }], ...body });
    const linked = await post({ q: 'managedBy{name}=="Pisa Tower"', join: 'inline', joinLevel: 1 });
    expect(linked.body.map((e: { id: string }) => e.id)).toEqual([building]);
    expect(linked.body[0].managedBy.entity.id).toBe(tower);
    const expanded = await post({ q: 'category==commercial', expandValues: 'category' });
    expect(expanded.headers.get('ngsild-results-count')).toBe('1');
    for (const bad of [{ join: 'inline', joinLevel: 0 }, { temporalQ: { timerel: 'after', timeAt: '2020-01-01T00:00:00Z' } }, { csf: '))bad((' }]) {
      expect((await post(bad)).status).toBe(400);
    }
  });

  test.each([
    ['attrs naming only system attributes', 'attrs=createdAt'],
    ['q on system attributes only', q('modifiedAt>"2020-01-01T00:00:00Z"')],
    ['type=* with local=false', 'local=false'],
    ['a csf that does not parse', `csf=${encodeURIComponent('))bad((')}`],
  ])('%s is 400 BadRequestData', async (_, query) => {
    const url = query === 'local=false' ? `/entities?type=*&${query}` : `/entities?${query}`;
    const res = await h().client.get(query.startsWith('csf') ? `/entities?type=${type}&${query}` : url);
    expect(res.status).toBe(400);
    expect(res.body.type).toBe('https://uri.etsi.org/ngsi-ld/errors/BadRequestData');
  });
});
