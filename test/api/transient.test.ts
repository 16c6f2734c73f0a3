/** Transient entities and attributes (4.22): served until their expiresAt, then gone, through whatever operation set it. */
import { describeEachStore, uniqueId } from '../support/broker';
import { eventually, Receiver } from '../support/receiver';

const soon = (ms: number) => new Date(Date.now() + ms).toISOString();

describeEachStore(
  'transient entities and attributes',
  (h) => {
    test('an entity is served until it expires, then gone, and its id free again', async () => {
      const id = uniqueId('Vehicle');
      const expiresAt = soon(1500);
      expect((await h().client.post('/entities', { id, type: 'Vehicle', expiresAt, speed: 7 })).status).toBe(201);
      const live = await h().client.get(`/entities/${id}`);
      expect(live.status).toBe(200);
      // expiresAt is a system member: shown with sysAttrs only.
      expect(live.body.expiresAt).toBeUndefined();
      expect((await h().client.get(`/entities/${id}?options=sysAttrs`)).body.expiresAt).toBe(expiresAt.replace(/\.?0+Z$/, 'Z'));
      await eventually(async () => expect((await h().client.get(`/entities/${id}`)).status).toBe(404), 5000);
      expect((await h().client.get(`/entities?type=Vehicle&id=${id}`)).body).toEqual([]);
      expect((await h().client.post('/entities', { id, type: 'Vehicle', speed: 8 })).status).toBe(201);
    });

    test('an attribute instance expires alone; its durable siblings and the entity stay', async () => {
      const id = uniqueId('Vehicle');
      const expiresAt = soon(1500);
      const body = {
        id,
        type: 'Vehicle',
        speed: { type: 'Property', value: 7, expiresAt },
        owner: { type: 'Relationship', object: 'urn:ngsi-ld:Person:1', expiresAt },
        fuel: [
          { type: 'Property', value: 50 },
          { type: 'Property', value: 60, datasetId: 'urn:ngsi-ld:Dataset:b', expiresAt },
        ],
        brand: 'Tesla',
      };
      expect((await h().client.post('/entities', body)).status).toBe(201);
      expect(Object.keys((await h().client.get(`/entities/${id}`)).body)).toEqual(expect.arrayContaining(['speed', 'owner', 'fuel', 'brand']));
      await eventually(async () => {
        const res = await h().client.get(`/entities/${id}?options=keyValues`);
        expect(res.body).toEqual({ id, type: 'Vehicle', fuel: 50, brand: 'Tesla' });
      }, 5000);
      // The transient instance's history went with it; the durable sibling's stays.
      const history = await h().client.get(`/temporal/entities/${id}?attrs=fuel,speed`);
      expect(history.body.speed).toBeUndefined();
      expect(history.body.fuel.map((i: { value: number }) => i.value)).toEqual([50]);
    });

    test('merge sets or takes away an expiry; a past expiry is gone at once; a malformed one is 400', async () => {
      const id = uniqueId('Vehicle');
      await h().client.post('/entities', { id, type: 'Vehicle', speed: 1 });
      expect((await h().client.patch(`/entities/${id}`, { expiresAt: soon(60_000) })).status).toBe(204);
      expect((await h().client.get(`/entities/${id}?options=sysAttrs`)).body.expiresAt).toEqual(expect.any(String));
      expect((await h().client.patch(`/entities/${id}`, { expiresAt: 'urn:ngsi-ld:null' })).status).toBe(204);
      expect((await h().client.get(`/entities/${id}?options=sysAttrs`)).body.expiresAt).toBeUndefined();
      expect((await h().client.patch(`/entities/${id}`, { expiresAt: '2020-01-01T00:00:00Z' })).status).toBe(204);
      expect((await h().client.get(`/entities/${id}`)).status).toBe(404);
      const bad = await h().client.post('/entities', { id: uniqueId('Vehicle'), type: 'Vehicle', expiresAt: 'tomorrow' });
      expect(bad.status).toBe(400);
      expect(bad.body.type).toBe('https://uri.etsi.org/ngsi-ld/errors/BadRequestData');
      expect((await h().client.post('/entities', { id: uniqueId('Vehicle'), type: 'Vehicle', speed: { type: 'Property', value: 1, expiresAt: 5 } })).status).toBe(400);
    });

    test('replacing an attribute clears its expiry; a partial update keeps it', async () => {
      const id = uniqueId('Vehicle');
      const expiresAt = soon(1500);
      await h().client.post('/entities', { id, type: 'Vehicle', a: { type: 'Property', value: 1, expiresAt }, b: { type: 'Property', value: 1, expiresAt } });
      expect((await h().client.patch(`/entities/${id}/attrs`, { a: { type: 'Property', value: 2 } })).status).toBe(204);
      expect((await h().client.patch(`/entities/${id}/attrs/b`, { value: 2 })).status).toBe(204);
      await eventually(async () => {
        const res = await h().client.get(`/entities/${id}?options=keyValues`);
        expect(res.body).toEqual({ id, type: 'Vehicle', a: 2 });
      }, 5000);
    });

    test('subscribers hear of an expiry as of a deletion', async () => {
      const receiver = await Receiver.start();
      try {
        const id = uniqueId('Vehicle');
        await h().client.post('/subscriptions', {
          type: 'Subscription',
          entities: [{ id, type: 'Vehicle' }],
          notificationTrigger: ['entityDeleted'],
          notification: { endpoint: { uri: receiver.url() } },
        });
        await h().client.post('/entities', { id, type: 'Vehicle', expiresAt: soon(1000), speed: 1 });
        const [n] = await receiver.waitFor(undefined, 1);
        expect(n.body.data[0]).toMatchObject({ id, type: 'Vehicle' });
        expect(n.body.data[0].deletedAt).toEqual(expect.any(String));
      } finally {
        await receiver.close();
      }
    });
  },
  { CIVITAS_EXPIRY_SWEEP_MS: '200', CIVITAS_NOTIFY_POLL_MS: '100' },
);

describeEachStore(
  'transient attributes between sweeps',
  (h) => {
    test('an expired attribute instance is gone from an entity read before it expired, before any sweep has removed it', async () => {
      const id = uniqueId('Vehicle');
      const expiresAt = soon(800);
      await h().client.post('/entities', { id, type: 'Vehicle', speed: { type: 'Property', value: 7, expiresAt }, brand: 'Tesla' });
      // The same form read while the instance lives, then after it expired: the entity itself is unchanged in between.
      expect((await h().client.get(`/entities/${id}?options=keyValues`)).body).toEqual({ id, type: 'Vehicle', speed: 7, brand: 'Tesla' });
      await new Promise((resolve) => setTimeout(resolve, Date.parse(expiresAt) - Date.now() + 50));
      expect((await h().client.get(`/entities/${id}?options=keyValues`)).body).toEqual({ id, type: 'Vehicle', brand: 'Tesla' });
    });
  },
  // No sweep runs during the test: what the store holds still has the expired instance.
  { CIVITAS_EXPIRY_SWEEP_MS: '600000' },
);
