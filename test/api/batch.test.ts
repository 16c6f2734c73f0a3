/** Batch entity operations (5.6.7 - 5.6.10, 5.6.20): 201 / 204 / 207 and per-entity isolation. */
import { describeEachStore, uniqueId } from '../support/broker';

const ERR = 'https://uri.etsi.org/ngsi-ld/errors/';

describeEachStore('batch operations', (h) => {
  test('upsert: writers racing to create the same new entity all succeed, each attribute kept', async () => {
    const id = uniqueId();
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => h().client.post('/entityOperations/upsert?options=update', [{ id, type: 'T', [`a${i}`]: i }])),
    );
    expect(answers.map((a) => a.status).filter((s) => s !== 201 && s !== 204)).toEqual([]);
    const entity = (await h().client.get(`/entities/${encodeURIComponent(id)}?options=keyValues`)).body;
    expect(Object.keys(entity).filter((k) => k.startsWith('a')).sort()).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7']);
  });

  test('create: 201 with the ids; an existing or invalid one fails alone (207)', async () => {
    const [a, b, c] = [uniqueId(), uniqueId(), uniqueId()];
    const ok = await h().client.post('/entityOperations/create', [{ id: a, type: 'T', v: 1 }, { id: b, type: 'T', v: 2 }]);
    expect(ok.status).toBe(201);
    expect(ok.body).toEqual([a, b]);

    const mixed = await h().client.post('/entityOperations/create', [
      { id: a, type: 'T', v: 9 },
      { id: c, type: 'T', v: 3 },
      { id: 'not a uri', type: 'T' },
      { id: uniqueId(), type: 'T', bad: { type: 'Relationship', object: 42 } },
    ]);
    expect(mixed.status).toBe(207);
    expect(mixed.body.success).toEqual([c]);
    expect(mixed.body.errors.map((e: { error: { type: string } }) => e.error.type)).toEqual([
      `${ERR}AlreadyExists`,
      `${ERR}BadRequestData`,
      `${ERR}BadRequestData`,
    ]);
    expect(mixed.body.errors[0].entityId).toBe(a);
    // The failed create left the existing entity untouched.
    expect((await h().client.get(`/entities/${a}?options=keyValues`)).body.v).toBe(1);
    expect((await h().client.get(`/entities/${c}?options=keyValues`)).body.v).toBe(3);
  });

  test('upsert replace (default): creates (201 with new ids) and replaces (204 when nothing new)', async () => {
    const [a, b] = [uniqueId(), uniqueId()];
    await h().client.post('/entities', { id: a, type: 'T', x: 1, y: 1 });
    const first = await h().client.post('/entityOperations/upsert', [{ id: a, type: 'T', x: 2 }, { id: b, type: 'T', x: 3 }]);
    expect(first.status).toBe(201);
    expect(first.body).toEqual([b]);
    expect((await h().client.get(`/entities/${a}?options=keyValues`)).body).toEqual({ id: a, type: 'T', x: 2 });
    const again = await h().client.post('/entityOperations/upsert', [{ id: a, type: 'T', x: 4 }]);
    expect(again.status).toBe(204);
  });

  test('upsert update: keeps the attributes not given', async () => {
    const a = uniqueId();
    await h().client.post('/entities', { id: a, type: 'T', x: 1, y: 1 });
    const res = await h().client.post('/entityOperations/upsert?options=update', [{ id: a, type: 'T', x: 2 }]);
    expect(res.status).toBe(204);
    expect((await h().client.get(`/entities/${a}?options=keyValues`)).body).toEqual({ id: a, type: 'T', x: 2, y: 1 });
  });

  test('upsert naming an entity more than once applies each element in order, and the history keeps each one (10.3.3)', async () => {
    const [a, b] = [uniqueId(), uniqueId()];
    const at = (s: number) => `2026-01-01T00:00:0${s}.000Z`;
    const measure = (id: string, x: number, s: number, extra: Record<string, unknown> = {}) => ({ id, type: 'T', x: { type: 'Property', value: x, observedAt: at(s) }, ...extra });
    await h().client.post('/entities', measure(a, 1, 0, { y: 1 }));
    const res = await h().client.post('/entityOperations/upsert?options=update', [
      measure(a, 2, 1),
      measure(b, 10, 1),
      measure(a, 3, 2, { z: 7 }),
      measure(b, 11, 2),
      measure(a, 4, 3),
    ]);
    expect(res.status).toBe(201);
    expect(res.body).toEqual([b]);
    expect((await h().client.get(`/entities/${a}?options=keyValues`)).body).toEqual({ id: a, type: 'T', x: 4, y: 1, z: 7 });
    const history = async (id: string) => {
      const body = (await h().client.get(`/temporal/entities/${id}?attrs=x,z&options=temporalValues`)).body;
      return { x: body.x?.values, z: body.z?.values };
    };
    expect(await history(a)).toEqual({ x: [[1, at(0)], [2, at(1)], [3, at(2)], [4, at(3)]], z: [[7, expect.any(String)]] });
    expect((await history(b)).x).toEqual([[10, at(1)], [11, at(2)]]);
  });

  test('upsert replacing an entity twice in one batch records the attribute the second element removes', async () => {
    const a = uniqueId();
    const res = await h().client.post('/entityOperations/upsert', [
      { id: a, type: 'T', x: 1, y: 1 },
      { id: a, type: 'T', x: 2 },
    ]);
    expect(res.status).toBe(201);
    expect((await h().client.get(`/entities/${a}?options=keyValues`)).body).toEqual({ id: a, type: 'T', x: 2 });
    const y = (await h().client.get(`/temporal/entities/${a}?attrs=y&timeproperty=deletedAt&options=temporalValues`)).body.y;
    expect(y?.values).toHaveLength(1);
    const x = (await h().client.get(`/temporal/entities/${a}?attrs=x&timeproperty=modifiedAt&options=temporalValues`)).body.x;
    expect(x.values.map((v: unknown[]) => v[0])).toEqual([1, 2]);
  });

  test('update: overwrites, or not with noOverwrite; unknown entities fail alone', async () => {
    const [a, missing] = [uniqueId(), uniqueId()];
    await h().client.post('/entities', { id: a, type: 'T', x: 1 });
    const res = await h().client.post('/entityOperations/update?options=noOverwrite', [{ id: a, type: 'T', x: 5, z: 1 }, { id: missing, type: 'T', x: 1 }]);
    expect(res.status).toBe(207);
    // The kept attribute is reported against its entity; what could be appended was written.
    expect(res.body.success).toEqual([]);
    expect(res.body.errors).toEqual([
      { entityId: a, error: expect.objectContaining({ type: `${ERR}BadRequestData`, detail: expect.stringContaining('x') }) },
      { entityId: missing, error: expect.objectContaining({ type: `${ERR}ResourceNotFound` }) },
    ]);
    expect((await h().client.get(`/entities/${a}?options=keyValues`)).body).toEqual({ id: a, type: 'T', x: 1, z: 1 });
    const fresh = await h().client.post('/entityOperations/update?options=noOverwrite', [{ id: a, type: 'T', w: 2 }]);
    expect(fresh.status).toBe(204);
    // Every attribute kept, so the entity is unchanged: still reported, not counted a success.
    const kept = await h().client.post('/entityOperations/update?options=noOverwrite', [{ id: a, type: 'T', x: 9, w: 9 }]);
    expect(kept.status).toBe(207);
    expect(kept.body).toEqual({ success: [], errors: [{ entityId: a, error: expect.objectContaining({ type: `${ERR}BadRequestData`, detail: expect.stringContaining('w') }) }] });
    expect((await h().client.get(`/entities/${a}?options=keyValues`)).body).toEqual({ id: a, type: 'T', x: 1, z: 1, w: 2 });
    const overwrite = await h().client.post('/entityOperations/update', [{ id: a, type: 'T', x: 5 }]);
    expect(overwrite.status).toBe(204);
    expect((await h().client.get(`/entities/${a}?options=keyValues`)).body.x).toBe(5);
  });

  test('merge: merge-patch per entity', async () => {
    const a = uniqueId();
    await h().client.post('/entities', { id: a, type: 'T', x: 1, y: 2 });
    const res = await h().client.post('/entityOperations/merge', [{ id: a, type: 'T', y: 'urn:ngsi-ld:null', z: 3 }]);
    expect(res.status).toBe(204);
    expect((await h().client.get(`/entities/${a}?options=keyValues`)).body).toEqual({ id: a, type: 'T', x: 1, z: 3 });
  });

  test('delete: 204, or 207 naming the unknown ids', async () => {
    const [a, b] = [uniqueId(), uniqueId()];
    await h().client.post('/entityOperations/create', [{ id: a, type: 'T' }, { id: b, type: 'T' }]);
    expect((await h().client.post('/entityOperations/delete', [a])).status).toBe(204);
    const res = await h().client.post('/entityOperations/delete', [a, b]);
    expect(res.status).toBe(207);
    expect(res.body.success).toEqual([b]);
    expect(res.body.errors[0].entityId).toBe(a);
  });

  test('ld+json: each element is expanded with its own @context; an unreachable one fails that element alone', async () => {
    const [a, b] = [uniqueId(), uniqueId()];
    const res = await h().client.post(
      '/entityOperations/create',
      [
        { id: a, type: 'Car', speed: 1, '@context': { Car: 'http://example.org/Car', speed: 'http://example.org/speed' } },
        { id: b, type: 'Car', speed: 2, '@context': 'http://127.0.0.1:1/unreachable.jsonld' },
      ],
      { headers: { 'Content-Type': 'application/ld+json' } },
    );
    expect(res.status).toBe(207);
    expect(res.body.success).toEqual([a]);
    expect(res.body.errors[0]).toMatchObject({ entityId: b, error: { type: `${ERR}LdContextNotAvailable` } });
    expect((await h().store.getEntity('', a))!.types).toEqual(['http://example.org/Car']);
  });

  test('a batch is not an array: 400 and nothing written', async () => {
    const res = await h().client.post('/entityOperations/create', { id: uniqueId(), type: 'T' });
    expect(res.status).toBe(400);
    expect(res.body.type).toBe(`${ERR}BadRequestData`);
  });

  test('a large batch is written with a constant number of store statements', async () => {
    const entities = Array.from({ length: 300 }, () => ({ id: uniqueId('Bulk'), type: 'Bulk', n: 1 }));
    const res = await h().client.post('/entityOperations/upsert', entities);
    expect(res.status).toBe(201);
    expect(res.body).toHaveLength(300);
    const q = await h().client.get('/entities?type=Bulk&count=true&limit=1');
    expect(Number(q.headers.get('ngsild-results-count'))).toBeGreaterThanOrEqual(300);
  });
});
