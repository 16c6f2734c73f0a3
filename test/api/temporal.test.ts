/** The temporal consumption API (5.7.3, 5.7.4) over the attribute history the write path keeps. */
import { describeEachStore, uniqueId } from '../support/broker';
import { eventually } from '../support/receiver';

const at = (hour: number) => `2026-01-01T${String(hour).padStart(2, '0')}:00:00Z`;

describeEachStore('temporal API', (h) => {
  /** A sensor whose value is v at hour v, for v = 1..4. */
  async function sensor(type = 'Sensor'): Promise<string> {
    const id = uniqueId(type);
    expect((await h().client.post('/entities', { id, type, v: { type: 'Property', value: 1, observedAt: at(1) }, name: 'kitchen' })).status).toBe(201);
    for (const v of [2, 3, 4]) {
      expect((await h().client.patch(`/entities/${id}/attrs`, { v: { type: 'Property', value: v, observedAt: at(v) } })).status).toBe(204);
    }
    return id;
  }

  test('every write of an attribute is an instance of its history, with an instance id', async () => {
    const id = await sensor();
    const res = await h().client.get(`/temporal/entities/${id}`);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(id);
    expect(res.body.v.map((i: { value: number }) => i.value)).toEqual([1, 2, 3, 4]);
    expect(res.body.v[0]).toMatchObject({ type: 'Property', observedAt: at(1), instanceId: expect.stringMatching(/^urn:ngsi-ld:attribute:instance:/) });
    // Written once, with the entity.
    expect(res.body.name).toHaveLength(1);
  });

  test('timerel before / after / between on observedAt, lastN and attrs', async () => {
    const id = await sensor();
    const values = async (query: string) => (await h().client.get(`/temporal/entities/${id}?attrs=v&${query}`)).body.v?.map((i: { value: number }) => i.value);
    expect(await values(`timerel=before&timeAt=${at(3)}`)).toEqual([1, 2]);
    // after is an inclusive bound, before and the end of between exclusive ones (4.11).
    expect(await values(`timerel=after&timeAt=${at(2)}`)).toEqual([2, 3, 4]);
    expect(await values(`timerel=between&timeAt=${at(2)}&endTimeAt=${at(4)}`)).toEqual([2, 3]);
    expect(await values('lastN=2')).toEqual([3, 4]);
    expect((await h().client.get(`/temporal/entities/${id}?attrs=v`)).body.name).toBeUndefined();
  });

  test('temporalValues gives value-time pairs', async () => {
    const id = await sensor();
    const res = await h().client.get(`/temporal/entities/${id}?attrs=v&options=temporalValues&lastN=2`);
    expect(res.body.v).toEqual({ type: 'Property', values: [[3, at(3)], [4, at(4)]] });
    // Contents are compacted like the simplified entity representation's: vocab terms and compound members.
    await h().client.patch(`/entities/${id}/attrs`, {
      kind: { type: 'VocabProperty', vocab: ['monument', 'sightseeing'], observedAt: at(5) },
      place: { type: 'Property', value: { city: 'Pisa' }, observedAt: at(5) },
    });
    const pairs = await h().client.get(`/temporal/entities/${id}?attrs=kind,place&options=temporalValues`);
    expect(pairs.body.kind).toEqual({ type: 'VocabProperty', vocabs: [[{ vocab: ['monument', 'sightseeing'] }, at(5)]] });
    expect(pairs.body.place).toEqual({ type: 'Property', values: [[{ city: 'Pisa' }, at(5)]] });
  });

  test('aggregatedValues per period, computed in SQL', async () => {
    const id = await sensor();
    const res = await h().client.get(
      `/temporal/entities/${id}?attrs=v&format=aggregatedValues&aggrMethods=sum,avg,max,totalCount&aggrPeriodDuration=PT2H&timerel=after&timeAt=2026-01-01T00:00:00Z`,
    );
    expect(res.status).toBe(200);
    const start = (h: number) => `2026-01-01T${String(h).padStart(2, '0')}:00:00Z`;
    expect(res.body.v).toEqual({
      type: 'Property',
      sum: [[1, start(0), start(2)], [5, start(2), start(4)], [4, start(4), start(6)]],
      avg: [[1, start(0), start(2)], [2.5, start(2), start(4)], [4, start(4), start(6)]],
      max: [[1, start(0), start(2)], [3, start(2), start(4)], [4, start(4), start(6)]],
      totalCount: [[1, start(0), start(2)], [2, start(2), start(4)], [1, start(4), start(6)]],
    });
    const whole = await h().client.get(`/temporal/entities/${id}?attrs=v&options=aggregatedValues&aggrMethods=min,stddev`);
    expect(whole.body.v.min[0][0]).toBe(1);
    expect(whole.body.v.stddev[0][0]).toBeCloseTo(1.2910, 3);
  });

  test('the POST query takes aggregation from temporalQ or aggrParams, methods as a list or a string', async () => {
    const type = `A${Date.now().toString(36)}`;
    await sensor(type);
    const query = (extra: object) => h().client.post('/temporal/entityOperations/query', { type: 'Query', entities: [{ type }], attrs: ['v'], ...extra });
    const inTemporalQ = await query({ temporalQ: { timerel: 'after', timeAt: at(0), aggrMethods: ['avg'] } });
    expect(inTemporalQ.status).toBe(200);
    expect(inTemporalQ.body[0].v.avg[0][0]).toBe(2.5);
    expect(inTemporalQ.text).not.toContain('instanceId');
    const asString = await query({ temporalQ: { timerel: 'after', timeAt: at(0), aggrMethods: 'avg,max' } });
    expect(Object.keys(asString.body[0].v).sort()).toEqual(['avg', 'max', 'type']);
    const inAggrParams = await query({ temporalQ: { timerel: 'after', timeAt: at(0) }, aggrParams: { aggrMethods: ['sum'], aggrPeriodDuration: 'PT0S' } });
    expect(inAggrParams.body[0].v.sum).toHaveLength(1);
    expect((await query({ aggrParams: { aggrMethods: ['median'] } })).status).toBe(400);
    expect((await query({ temporalQ: { timerel: 'after', timeAt: at(0), aggrMethods: ['avg'], aggrPeriodDuration: 'bogus' } })).status).toBe(400);
  });

  test('datasetId selects instances; temporalValues gives one simplified attribute per datasetId', async () => {
    const type = `D${Date.now().toString(36)}`;
    const id = `urn:ngsi-ld:${type}:1`;
    const speed = [
      { type: 'Property', value: 120, observedAt: at(1) },
      { type: 'Property', value: 60, observedAt: at(2), datasetId: 'urn:ngsi-ld:Dataset:Speed' },
      { type: 'Property', value: 62, observedAt: at(3), datasetId: 'urn:ngsi-ld:Dataset:Speed' },
    ];
    expect((await h().client.post('/temporal/entities', { id, type, speed })).status).toBe(201);
    const all = await h().client.get(`/temporal/entities?type=${type}&options=temporalValues`);
    expect(all.body[0].speed).toEqual([
      { type: 'Property', values: [[120, at(1)]] },
      { type: 'Property', datasetId: 'urn:ngsi-ld:Dataset:Speed', values: [[60, at(2)], [62, at(3)]] },
    ]);
    const one = await h().client.get(`/temporal/entities?type=${type}&options=temporalValues&datasetId=urn:ngsi-ld:Dataset:Speed`);
    expect(one.body[0].speed).toEqual({ type: 'Property', datasetId: 'urn:ngsi-ld:Dataset:Speed', values: [[60, at(2)], [62, at(3)]] });
    const byDefault = await h().client.get(`/temporal/entities?type=${type}&datasetId=@none`);
    expect(byDefault.body[0].speed.map((i: { value: number }) => i.value)).toEqual([120]);
    expect((await h().client.get(`/temporal/entities?type=${type}&datasetId=urn:ngsi-ld:Dataset:none`)).body).toEqual([]);
  });

  test('query by type, a page of entities at a time', async () => {
    const type = `T${Date.now().toString(36)}`;
    const ids = [await sensor(type), await sensor(type), await sensor(type)].sort();
    const first = await h().client.get(`/temporal/entities?type=${type}&lastN=1&limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.map((e: { id: string }) => e.id)).toEqual(ids.slice(0, 2));
    expect(first.body[0].v).toHaveLength(1);
    expect(first.headers.get('link')).toContain('rel="next"');
  });

  test('an entity given another type is found by each type with the instances written under it', async () => {
    const [before, after] = [`Ra${Date.now().toString(36)}`, `Rb${Date.now().toString(36)}`];
    const id = uniqueId(before);
    expect((await h().client.post('/entities', { id, type: before, v: { type: 'Property', value: 1, observedAt: at(1) } })).status).toBe(201);
    expect((await h().client.post('/entityOperations/upsert', [{ id, type: after, v: { type: 'Property', value: 2, observedAt: at(2) } }])).status).toBe(204);
    const values = async (type: string) => {
      const res = await h().client.get(`/temporal/entities?type=${type}&attrs=v&options=temporalValues`);
      expect(res.status).toBe(200);
      return res.body.map((e: { id: string; v: { values: unknown[] } }) => [e.id, e.v.values]);
    };
    expect(await values(before)).toEqual([[id, [[1, at(1)]]]]);
    expect(await values(after)).toEqual([[id, [[2, at(2)]]]]);
    expect(await values(`${before},${after}`)).toEqual([[id, [[1, at(1)], [2, at(2)]]]]);
  });

  test('POST /temporal/entityOperations/query and q select like the GET form', async () => {
    const type = `Q${Date.now().toString(36)}`;
    const a = await sensor(type);
    const b = await sensor(type);
    await h().client.patch(`/entities/${b}/attrs`, { name: 'garage' });
    const posted = await h().client.post('/temporal/entityOperations/query?lastN=1', {
      type: 'Query',
      entities: [{ type }],
      attrs: ['v'],
      temporalQ: { timerel: 'after', timeAt: at(0) },
    });
    expect(posted.status).toBe(200);
    expect(posted.body.map((e: { id: string }) => e.id)).toEqual([a, b].sort());
    expect(posted.body[0].v).toHaveLength(1);
    const filtered = await h().client.get(`/temporal/entities?type=${type}&q=name==%22garage%22&attrs=v`);
    expect(filtered.body.map((e: { id: string }) => e.id)).toEqual([b]);
    expect((await h().client.post('/temporal/entityOperations/query', { type: 'NotAQuery' })).status).toBe(400);
    expect((await h().client.post('/temporal/entityOperations/query', { type: 'Query', entities: [{ type }], temporalQ: 'after' })).status).toBe(400);
  });

  test('orderBy id, several entity selectors, local=true, expandValues', async () => {
    const type = `O${Date.now().toString(36)}`;
    const other = `${type}Bus`;
    const ids = [await sensor(type), await sensor(type), await sensor(other)];
    const order = async (query: string) => (await h().client.get(`/temporal/entities?type=${type},${other}&lastN=1&${query}`)).body.map((e: { id: string }) => e.id);
    expect(await order('orderBy=id')).toEqual([...ids].sort());
    expect(await order(`orderBy=${encodeURIComponent('id;desc')}`)).toEqual([...ids].sort().reverse());
    const posted = await h().client.post('/temporal/entityOperations/query?lastN=1', { type: 'Query', entities: [{ type }, { type: other }] });
    expect(posted.body.map((e: { id: string }) => e.id)).toEqual([...ids].sort());
    // local=true is narrow enough by itself.
    const local = await h().client.get(`/temporal/entities?local=true&lastN=1&limit=1000&id=${ids[2]}`);
    expect(local.body.map((e: { id: string }) => e.id)).toEqual([ids[2]]);
    await h().client.patch(`/entities/${ids[0]}/attrs`, { kind: { type: 'VocabProperty', vocab: 'kitchen' } });
    const expanded = await h().client.get(`/temporal/entities?type=${type}&q=kind==kitchen&expandValues=kind&attrs=kind`);
    expect(expanded.body.map((e: { id: string }) => e.id)).toEqual([ids[0]]);
  });

  test.each([
    ['ids alone', 'id=urn:ngsi-ld:Sensor:1'],
    ['system attributes alone', 'attrs=createdAt'],
    ['an id that is no URI', 'type=Sensor&id=not%20a%20uri'],
    ['a csf that does not parse', 'type=Sensor&csf=))bad(('],
    ['orderBy on anything but id', 'type=Sensor&orderBy=name'],
    ['several orderBy keys', 'type=Sensor&orderBy=id,createdAt'],
  ])('a temporal query with %s is 400 BadRequestData', async (_, query) => {
    const res = await h().client.get(`/temporal/entities?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.type).toBe('https://uri.etsi.org/ngsi-ld/errors/BadRequestData');
  });

  test.each([
    ['an unknown timerel', 'timerel=around&timeAt=2026-01-01T00:00:00Z'],
    ['timerel without timeAt', 'timerel=before'],
    ['between without endTimeAt', 'timerel=between&timeAt=2026-01-01T00:00:00Z'],
    ['an end before the start', 'timerel=between&timeAt=2026-01-02T00:00:00Z&endTimeAt=2026-01-01T00:00:00Z'],
    ['a timeAt that is no date-time', 'timerel=after&timeAt=yesterday'],
    ['an unknown timeproperty', 'timerel=after&timeAt=2026-01-01T00:00:00Z&timeproperty=seenAt'],
    ['lastN that is not a positive integer', 'lastN=0'],
    ['an unknown aggregation method', 'options=aggregatedValues&aggrMethods=median'],
    ['an unknown aggregation method without aggregatedValues', 'aggrMethods=median'],
    ['a duration that does not parse without aggregatedValues', 'aggrPeriodDuration=soon'],
    ['aggregatedValues without methods', 'options=aggregatedValues'],
    ['a duration that does not parse', 'options=aggregatedValues&aggrMethods=sum&aggrPeriodDuration=1 hour'],
    ['a duration in months', 'options=aggregatedValues&aggrMethods=sum&aggrPeriodDuration=P1M'],
  ])('%s is 400', async (_what, query) => {
    const id = await sensor();
    const res = await h().client.get(`/temporal/entities/${id}?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.type).toMatch(/^https:\/\/uri\.etsi\.org\/ngsi-ld\/errors\/(BadRequestData|InvalidRequest)$/);
    expect(res.body.detail).toEqual(expect.any(String));
  });

  test('temporal provision: create, add instances, modify and delete an instance, delete an attribute, delete the entity', async () => {
    const id = uniqueId('Meter');
    const created = await h().client.post('/temporal/entities', {
      id,
      type: 'Meter',
      kwh: [
        { type: 'Property', value: 10, observedAt: at(1) },
        { type: 'Property', value: 12, observedAt: at(2) },
      ],
      state: [{ type: 'Property', value: 'on', observedAt: at(1) }],
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/ngsi-ld/v1/temporal/entities/${id}`);
    // A second create of the same id adds to its history, and may record that the attribute was null for a while.
    const nulled = { id, type: 'Meter', state: [{ type: 'Property', value: 'urn:ngsi-ld:null', observedAt: at(2) }] };
    expect((await h().client.post('/temporal/entities', nulled)).status).toBe(204);
    expect((await h().client.get(`/temporal/entities/${id}?attrs=state`)).body.state.map((i: { value: string }) => i.value)).toEqual(['on', 'urn:ngsi-ld:null']);
    expect((await h().client.post('/temporal/entities', { id, type: 'Meter', kwh: [{ type: 'Property', value: 15, observedAt: at(3) }] })).status).toBe(204);
    // Given again for a time already observed, an instance replaces the one of that time.
    expect((await h().client.post('/temporal/entities', { id, type: 'Meter', kwh: [{ type: 'Property', value: 12, observedAt: at(2) }] })).status).toBe(204);
    expect((await h().client.post(`/temporal/entities/${id}/attrs`, { kwh: [{ type: 'Property', value: 19, observedAt: at(4) }] })).status).toBe(204);
    const kwh = async () => (await h().client.get(`/temporal/entities/${id}?attrs=kwh`)).body.kwh as Array<{ value: number; instanceId: string }>;
    expect((await kwh()).map((i) => i.value)).toEqual([10, 12, 15, 19]);

    const second = (await kwh())[1].instanceId;
    expect((await h().client.patch(`/temporal/entities/${id}/attrs/kwh/${second}`, { kwh: { type: 'Property', value: 13, observedAt: at(2) } })).status).toBe(204);
    expect((await kwh()).map((i) => i.value)).toEqual([10, 13, 15, 19]);
    // The instance alone, as the URL names the attribute, does as well.
    expect((await h().client.patch(`/temporal/entities/${id}/attrs/kwh/${second}`, { type: 'Property', value: 13, observedAt: at(2) })).status).toBe(204);
    // An empty entity id is a bad request, not an unknown resource.
    expect((await h().client.delete('/temporal/entities//attrs/kwh')).status).toBe(400);
    expect((await kwh()).map((i) => i.value)).toEqual([10, 13, 15, 19]);
    expect((await h().client.delete(`/temporal/entities/${id}/attrs/kwh/${second}`)).status).toBe(204);
    expect((await kwh()).map((i) => i.value)).toEqual([10, 15, 19]);
    expect((await h().client.delete(`/temporal/entities/${id}/attrs/kwh/${second}`)).status).toBe(404);

    expect((await h().client.delete(`/temporal/entities/${id}/attrs/state`)).status).toBe(204);
    expect((await h().client.get(`/temporal/entities/${id}`)).body.state).toBeUndefined();
    expect((await h().client.delete(`/temporal/entities/${id}`)).status).toBe(204);
    expect((await h().client.get(`/temporal/entities/${id}`)).status).toBe(404);
    expect((await h().client.post(`/temporal/entities/${id}/attrs`, { kwh: [{ type: 'Property', value: 1 }] })).status).toBe(404);
  });

  test('temporal attribute paths: a name that is no attribute name is refused and changes nothing; an instance id this broker never gave is not found', async () => {
    const id = await sensor();
    const { instanceId } = (await h().client.get(`/temporal/entities/${id}?attrs=v`)).body.v[0] as { instanceId: string };
    const badNames = ['invalid(Name', '%2e%2e', '%252e%252e', '%2e', ''];
    for (const name of badNames) {
      // `attrs/` with an empty name is the attrs resource itself (POST only), not an attribute.
      const paths = [
        ...(name ? [['DELETE', `/temporal/entities/${id}/attrs/${name}`] as const] : []),
        ['DELETE', `/temporal/entities/${id}/attrs/${name}/${instanceId}`] as const,
        ['PATCH', `/temporal/entities/${id}/attrs/${name}/${instanceId}`] as const,
      ];
      for (const [method, path] of paths) {
        // As written: a client resolving `%2e%2e` as `..` would send a delete of the whole temporal entity instead.
        const res = await h().client.request(method, path, { body: method === 'PATCH' ? { type: 'Property', value: 0 } : undefined, pathAsIs: true });
        expect([method, path, res.status, res.body?.type]).toEqual([method, path, 400, 'https://uri.etsi.org/ngsi-ld/errors/BadRequestData']);
      }
    }
    // A URI that is none of this broker's instance ids names no instance; a value that is no URI is a bad request.
    const foreign = 'urn:ngsi-ld:01234567890123456789';
    expect((await h().client.delete(`/temporal/entities/${id}/attrs/v/${foreign}`)).status).toBe(404);
    expect((await h().client.patch(`/temporal/entities/${id}/attrs/v/${foreign}`, { type: 'Property', value: 0 })).status).toBe(404);
    expect((await h().client.delete(`/temporal/entities/${id}/attrs/v/invalidId`)).status).toBe(400);
    expect((await h().client.get(`/temporal/entities/${id}?attrs=v`)).body.v.map((i: { value: number }) => i.value)).toEqual([1, 2, 3, 4]);
  });

  test('a new temporal entity is also a current entity, with the latest instance of each attribute', async () => {
    const id = uniqueId('Meter');
    const created = await h().client.post('/temporal/entities', {
      id,
      type: 'Meter',
      kwh: [
        { type: 'Property', value: 12, observedAt: at(2) },
        { type: 'Property', value: 10, observedAt: at(1) },
      ],
    });
    expect(created.status).toBe(201);
    const current = await h().client.get(`/entities/${id}`);
    expect(current.body.kwh).toEqual({ type: 'Property', value: 12, observedAt: at(2) });
    // Creating it wrote no instance beyond the two given.
    expect((await h().client.get(`/temporal/entities/${id}`)).body.kwh).toHaveLength(2);
  });

  test('deletions are recorded in the history and read with timeproperty=deletedAt only', async () => {
    const id = uniqueId('Meter');
    const name = { type: 'LanguageProperty', languageMap: { en: 'meter' } };
    const body = { id, type: 'Meter', kwh: { type: 'Property', value: 1, observedAt: at(1) }, owner: { type: 'Relationship', object: 'urn:ngsi-ld:Person:1' }, name };
    expect((await h().client.post('/entities', body)).status).toBe(201);
    expect((await h().client.delete(`/entities/${id}/attrs/kwh`)).status).toBe(204);
    const deleted = await h().client.get(`/temporal/entities/${id}?timeproperty=deletedAt`);
    expect(deleted.status).toBe(200);
    expect(deleted.body.kwh).toEqual([{ type: 'Property', value: 'urn:ngsi-ld:null', deletedAt: expect.any(String), instanceId: expect.any(String) }]);
    expect(deleted.body.owner).toBeUndefined();
    // Other time properties never show a deletion record: it has no value to show, count or aggregate.
    expect((await h().client.get(`/temporal/entities/${id}?attrs=kwh`)).body.kwh.map((i: { value: number }) => i.value)).toEqual([1]);
    // Deleting the entity records a deletion of each of its attributes, in the shape of its type.
    expect((await h().client.delete(`/entities/${id}`)).status).toBe(204);
    const all = (await h().client.get(`/temporal/entities/${id}?timeproperty=deletedAt&timerel=after&timeAt=${at(0)}`)).body;
    expect(all.owner).toEqual([expect.objectContaining({ type: 'Relationship', object: 'urn:ngsi-ld:null' })]);
    expect(all.name).toEqual([expect.objectContaining({ type: 'LanguageProperty', languageMap: { '@none': 'urn:ngsi-ld:null' } })]);
    expect(all.kwh).toHaveLength(1);
  });

  test('the scope has a history: set, replaced and removed through the core API', async () => {
    const id = uniqueId('Meter');
    expect((await h().client.post('/entities', { id, type: 'Meter', scope: '/A', kwh: 1 })).status).toBe(201);
    expect((await h().client.patch(`/entities/${id}/attrs`, { scope: ['/B', '/C'] })).status).toBe(204);
    const history = await h().client.get(`/temporal/entities/${id}`);
    expect(history.body.scope.map((i: { value: string[] }) => i.value)).toEqual([['/A'], ['/B', '/C']]);
    // Set through the core API, a scope is observed when it is modified (4.5.6).
    expect(history.body.scope[1].observedAt).toEqual(expect.any(String));
    expect((await h().client.delete(`/entities/${id}/attrs/scope`)).status).toBe(204);
    const removed = await h().client.get(`/temporal/entities/${id}?timeproperty=deletedAt`);
    expect(removed.body.scope).toEqual([expect.objectContaining({ type: 'Property', value: [], deletedAt: expect.any(String) })]);
  });

  test('scopeQ selects by the scopes valid within the window, and bounds the instances shown to their times', async () => {
    const type = `Scoped${Date.now().toString(36)}`;
    const t = (hh: number, mm = 0) => `2026-03-01T${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:00Z`;
    const speed = (...pairs: Array<[string, string]>) => pairs.map(([value, observedAt]) => ({ type: 'Property', value, observedAt }));
    const fixtures = {
      early: { scope: [{ type: 'Property', value: '/A/B', observedAt: t(10) }], speed: speed(['early', t(12, 5)]) },
      mid: { scope: [{ type: 'Property', value: '/M', observedAt: t(12, 10) }], speed: speed(['midpre', t(12, 5)], ['midpost', t(12, 15)]) },
      replaced: {
        scope: [{ type: 'Property', value: '/R', observedAt: t(10) }, { type: 'Property', value: '/S', observedAt: t(12, 30) }],
        speed: speed(['repold', t(12, 15)], ['repnew', t(12, 45)]),
      },
      late: { scope: [{ type: 'Property', value: '/Z', observedAt: t(14) }], speed: speed(['late', t(12, 5)]) },
      bare: { speed: speed(['bare', t(12, 5)]) },
    };
    const ids: Record<string, string> = {};
    for (const [name, body] of Object.entries(fixtures)) {
      ids[name] = `urn:ngsi-ld:${type}:${name}`;
      expect((await h().client.post('/temporal/entities', { id: ids[name], type, ...body })).status).toBe(201);
    }
    const window = `timerel=between&timeAt=${t(12)}&endTimeAt=${t(13)}`;
    const query = async (scopeQ: string) => {
      const res = await h().client.get(`/temporal/entities?type=${type}&scopeQ=${encodeURIComponent(scopeQ)}&${window}`);
      expect(res.status).toBe(200);
      return Object.fromEntries(res.body.map((e: { id: string; speed?: Array<{ value: string }> }) => [e.id.split(':').pop(), (e.speed ?? []).map((i) => i.value)]));
    };
    expect(await query('/#')).toEqual({ early: ['early'], mid: ['midpost'], replaced: ['repold', 'repnew'] });
    expect(await query('/R')).toEqual({ replaced: ['repold'] });
    expect(await query('/S')).toEqual({ replaced: ['repnew'] });
    expect(await query('/Z')).toEqual({});
    // The scope that qualified the entity is shown, though set before the window.
    const early = await h().client.get(`/temporal/entities?type=${type}&scopeQ=${encodeURIComponent('/A/#')}&${window}`);
    expect(early.body[0].scope).toEqual([expect.objectContaining({ value: ['/A/B'], observedAt: t(10) })]);
    // The current entity has the latest scope.
    expect((await h().client.get(`/entities/${ids.replaced}`)).body.scope).toBe('/S');
  });

  test('temporal provision refuses what is not a temporal entity', async () => {
    expect((await h().client.post('/temporal/entities', { type: 'Meter', kwh: [{ type: 'Property', value: 1 }] })).status).toBe(400);
    expect((await h().client.post('/temporal/entities', { id: 'not a uri', type: 'Meter' })).status).toBe(400);
    expect((await h().client.patch(`/temporal/entities/${uniqueId('Meter')}/attrs/kwh/not-an-instance`, { kwh: { type: 'Property', value: 1 } })).status).toBe(400);
  });

  test('an entity without history is 404; a query must select something', async () => {
    expect((await h().client.get('/temporal/entities/urn:ngsi-ld:Sensor:never')).status).toBe(404);
    expect((await h().client.get('/temporal/entities')).status).toBe(400);
  });
});

describeEachStore(
  'temporal API with history off (CIVITAS_HISTORY=off)',
  (h) => {
    test('writes keep no history', async () => {
      const id = uniqueId('Sensor');
      await h().client.post('/entities', { id, type: 'Sensor', v: 1 });
      expect((await h().client.get(`/temporal/entities/${id}`)).status).toBe(404);
    });
  },
  { CIVITAS_HISTORY: 'off' },
);

describeEachStore(
  'history retention (CIVITAS_HISTORY_RETENTION_DAYS=30)',
  (h) => {
    test('instances older than the retention are pruned, the others kept', async () => {
      const id = uniqueId('Meter');
      const old = new Date(Date.now() - 100 * 86_400_000).toISOString();
      const recent = new Date(Date.now() - 86_400_000).toISOString();
      await h().client.post('/temporal/entities', {
        id,
        type: 'Meter',
        kwh: [
          { type: 'Property', value: 1, observedAt: old },
          { type: 'Property', value: 2, observedAt: recent },
        ],
      });
      await eventually(async () => {
        const res = await h().client.get(`/temporal/entities/${id}`);
        expect(res.body.kwh.map((i: { value: number }) => i.value)).toEqual([2]);
      });
    });
  },
  { CIVITAS_HISTORY_RETENTION_DAYS: '30', CIVITAS_HISTORY_PRUNE_MS: '100' },
);
