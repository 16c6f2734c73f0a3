/**
 * Notification behaviour (5.8.6, 5.3.1) over real HTTP: what triggers a
 * notification, what it contains, and the status a subscription reports.
 */
import { describeEachStore, uniqueId } from '../support/broker';
import { eventually, Receiver, settle } from '../support/receiver';

const FAST = { CIVITAS_NOTIFY_RETRY_MS: '100', CIVITAS_NOTIFY_POLL_MS: '100' };

describeEachStore(
  'notifications',
  (h) => {
    let receiver: Receiver;
    beforeAll(async () => {
      receiver = await Receiver.start();
    });
    afterAll(() => receiver.close());

    /** A subscription notifying a path of its own; returns that path. */
    async function subscribe(extra: Record<string, unknown>, notification: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<string> {
      const path = `/${uniqueId('n')}`;
      const endpoint = { uri: receiver.url(path), ...((notification.endpoint as object | undefined) ?? {}) };
      const res = await h().client.post('/subscriptions', { type: 'Subscription', ...extra, notification: { ...notification, endpoint } }, { headers });
      expect(res.status).toBe(201);
      return path;
    }

    const room = (id: string, temperature: number, extra: Record<string, unknown> = {}) => ({
      id,
      type: 'Room',
      temperature: { type: 'Property', value: temperature, unitCode: 'CEL' },
      ...extra,
    });

    /** Runs `check` with an endpoint that answers 500 until it is told otherwise, closed afterwards. */
    async function withFailingEndpoint(check: (failing: Receiver) => Promise<void>): Promise<void> {
      const failing = await Receiver.start();
      failing.status = 500;
      try {
        await check(failing);
      } finally {
        await failing.close();
      }
    }

    test('creation and updates notify with the new state; an identical update does not', async () => {
      const id = uniqueId('Room');
      const path = await subscribe({ entities: [{ id, type: 'Room' }] });
      await h().client.post('/entities', room(id, 20));
      await h().client.patch(`/entities/${id}/attrs`, { temperature: { type: 'Property', value: 21, unitCode: 'CEL' } });
      const [created, updated] = await receiver.waitFor(path, 2);
      expect(created.body).toMatchObject({ type: 'Notification', subscriptionId: expect.stringMatching(/^urn:ngsi-ld:Subscription:/), data: [room(id, 20)] });
      expect(created.body.id).toMatch(/^urn:ngsi-ld:Notification:/);
      expect(created.body.notifiedAt).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
      expect(updated.body.data[0].temperature.value).toBe(21);
      expect(created.headers['content-type']).toBe('application/json');
      expect(created.headers.link).toContain('rel="http://www.w3.org/ns/json-ld#context"');
      await h().client.patch(`/entities/${id}/attrs`, { temperature: { type: 'Property', value: 21, unitCode: 'CEL' } });
      await settle(400);
      expect(receiver.on(path)).toHaveLength(2);
    });

    test('credentials in the endpoint URI go as Basic authorization; connection headers of receiverInfo stay out; a fractional timeout is taken', async () => {
      const id = uniqueId('Room');
      const path = `/${uniqueId('n')}`;
      const uri = receiver.url(path).replace('http://', 'http://city%20it:s3cret@');
      const receiverInfo = [
        { key: 'Connection', value: 'upgrade' },
        { key: 'X-Token', value: 't1' },
      ];
      const res = await h().client.post('/subscriptions', { type: 'Subscription', entities: [{ id, type: 'Room' }], notification: { endpoint: { uri, receiverInfo, timeout: 1500.5 } } });
      expect(res.status).toBe(201);
      await h().client.post('/entities', room(id, 20));
      const [got] = await receiver.waitFor(path, 1);
      expect(got.headers.authorization).toBe(`Basic ${Buffer.from('city it:s3cret').toString('base64')}`);
      expect(got.headers['x-token']).toBe('t1');
      expect(got.headers.connection).not.toBe('upgrade');
    });

    test('an Authorization header in receiverInfo wins over credentials in the endpoint URI', async () => {
      const id = uniqueId('Room');
      const path = `/${uniqueId('n')}`;
      const uri = receiver.url(path).replace('http://', 'http://user:pass@');
      const receiverInfo = [{ key: 'Authorization', value: 'Bearer t0ken' }];
      expect((await h().client.post('/subscriptions', { type: 'Subscription', entities: [{ id, type: 'Room' }], notification: { endpoint: { uri, receiverInfo } } })).status).toBe(201);
      await h().client.post('/entities', room(id, 20));
      const [got] = await receiver.waitFor(path, 1);
      expect(got.headers.authorization).toBe('Bearer t0ken');
    });

    test('watchedAttributes: only changes of those attributes notify', async () => {
      const id = uniqueId('Room');
      const path = await subscribe({ entities: [{ type: 'Room', id }], watchedAttributes: ['humidity'] });
      await h().client.post('/entities', room(id, 20));
      await h().client.patch(`/entities/${id}/attrs`, { temperature: { type: 'Property', value: 30 } });
      await h().client.post(`/entities/${id}/attrs`, { humidity: { type: 'Property', value: 40 } });
      const [only] = await receiver.waitFor(path, 1);
      expect(only.body.data[0].humidity.value).toBe(40);
      await settle(300);
      expect(receiver.on(path)).toHaveLength(1);
    });

    test('a subscription with only watchedAttributes concerns every entity having them', async () => {
      const attr = `level${Date.now().toString(36)}`;
      const path = await subscribe({ watchedAttributes: [attr] });
      const a = uniqueId('Tank');
      await h().client.post('/entities', { id: a, type: 'Tank', [attr]: { type: 'Property', value: 1 } });
      await h().client.post('/entities', { id: uniqueId('Tank'), type: 'Tank', other: { type: 'Property', value: 1 } });
      const [n] = await receiver.waitFor(path, 1);
      expect(n.body.data[0].id).toBe(a);
      await settle(300);
      expect(receiver.on(path)).toHaveLength(1);
    });

    test('entityCreated, entityDeleted and attributeDeleted triggers', async () => {
      const id = uniqueId('Room');
      const path = await subscribe({ entities: [{ id, type: 'Room' }], notificationTrigger: ['entityCreated', 'entityDeleted', 'attributeDeleted'] });
      await h().client.post('/entities', room(id, 20, { humidity: { type: 'Property', value: 50 } }));
      await h().client.patch(`/entities/${id}/attrs`, { temperature: { type: 'Property', value: 25 } });
      await h().client.delete(`/entities/${id}/attrs/humidity`);
      await h().client.delete(`/entities/${id}`);
      const [created, attrDeleted, deleted] = await receiver.waitFor(path, 3);
      expect(created.body.data[0].temperature.value).toBe(20);
      expect(attrDeleted.body.data[0].humidity).toEqual({ type: 'Property', value: 'urn:ngsi-ld:null' });
      // attributeDeleted is also fired by the entity's deletion: its attributes go with it.
      expect(deleted.body.data).toEqual([
        { id, type: 'Room', deletedAt: expect.stringMatching(/Z$/), temperature: { type: 'Property', value: 'urn:ngsi-ld:null' } },
      ]);
      await settle(300);
      expect(receiver.on(path)).toHaveLength(3);
    });

    test('deleting one instance of an attribute notifies attributeDeleted with a null for that instance', async () => {
      const id = uniqueId('Tower');
      const path = await subscribe({ entities: [{ id, type: 'Tower' }], watchedAttributes: ['name'], notificationTrigger: ['attributeDeleted'] });
      const fr = 'urn:ngsi-ld:Dataset:fr';
      await h().client.post('/entities', { id, type: 'Tower', name: [{ type: 'Property', value: 'Eiffel Tower' }, { type: 'Property', value: 'Tour Eiffel', datasetId: fr }] });
      expect((await h().client.delete(`/entities/${id}/attrs/name?datasetId=${fr}`)).status).toBe(204);
      const [n] = await receiver.waitFor(path, 1);
      expect(n.body.data[0].name).toEqual([
        { type: 'Property', value: 'Eiffel Tower' },
        { type: 'Property', value: 'urn:ngsi-ld:null', datasetId: fr },
      ]);
    });

    test('q, scopeQ and geoQ are checked against the new state', async () => {
      const id = uniqueId('Room');
      const byQ = await subscribe({ entities: [{ id, type: 'Room' }], q: 'temperature>25' });
      // Written as in a URL, as subscribers often do.
      const byEncodedQ = await subscribe({ entities: [{ id, type: 'Room' }], q: 'temperature%3E25' });
      const byScope = await subscribe({ entities: [{ id, type: 'Room' }], scopeQ: '/madrid/#' });
      const byGeo = await subscribe({
        entities: [{ id, type: 'Room' }],
        geoQ: { geometry: 'Point', coordinates: [-3.7, 40.4], georel: 'near;maxDistance==2000' },
      });
      await h().client.post('/entities', room(id, 20, { location: { type: 'GeoProperty', value: { type: 'Point', coordinates: [2.35, 48.85] } } }));
      await h().client.patch(`/entities/${id}/attrs`, { temperature: { type: 'Property', value: 30 } });
      const [hot] = await receiver.waitFor(byQ, 1);
      expect((await receiver.waitFor(byEncodedQ, 1))[0].body.data).toEqual(hot.body.data);
      expect(hot.body.data[0].temperature.value).toBe(30);
      await h().client.patch(`/entities/${id}`, { scope: '/madrid/centro', location: { type: 'GeoProperty', value: { type: 'Point', coordinates: [-3.701, 40.401] } } });
      await receiver.waitFor(byScope, 1);
      await receiver.waitFor(byGeo, 1);
      await receiver.waitFor(byQ, 2);
    });

    test('q on a linked entity follows the Relationship into the stored target', async () => {
      const building = uniqueId('Building');
      const hot = uniqueId('Room');
      const cold = uniqueId('Room');
      await h().client.post('/entities', room(hot, 30));
      await h().client.post('/entities', room(cold, 10));
      const path = await subscribe({ entities: [{ id: building, type: 'Building' }], q: 'mainRoom{Room:temperature}>25' });
      await h().client.post('/entities', { id: building, type: 'Building', mainRoom: { type: 'Relationship', object: cold } });
      await h().client.patch(`/entities/${building}/attrs`, { mainRoom: { type: 'Relationship', object: hot } });
      const [n] = await receiver.waitFor(path, 1);
      expect(n.body.data[0].mainRoom.object).toBe(hot);
      await settle(300);
      expect(receiver.on(path)).toHaveLength(1);
    });

    test('format, attributes, sysAttrs and showChanges shape the data', async () => {
      const id = uniqueId('Room');
      const kv = await subscribe({ entities: [{ id, type: 'Room' }] }, { format: 'keyValues', attributes: ['temperature'] });
      const concise = await subscribe({ entities: [{ id, type: 'Room' }] }, { format: 'concise', sysAttrs: true });
      const changes = await subscribe({ entities: [{ id, type: 'Room' }], notificationTrigger: ['attributeUpdated'] }, { showChanges: true });
      await h().client.post('/entities', room(id, 20, { name: { type: 'Property', value: 'lab' } }));
      await h().client.patch(`/entities/${id}/attrs`, { temperature: { type: 'Property', value: 22, unitCode: 'CEL' } });
      const [kv1] = await receiver.waitFor(kv, 1);
      expect(kv1.body.data).toEqual([{ id, type: 'Room', temperature: 20 }]);
      const [c1] = await receiver.waitFor(concise, 1);
      expect(c1.body.data[0]).toMatchObject({ id, type: 'Room', name: { value: 'lab' }, temperature: { value: 20, unitCode: 'CEL' } });
      expect(c1.body.data[0].createdAt).toMatch(/Z$/);
      const [ch] = await receiver.waitFor(changes, 1);
      expect(ch.body.data[0].temperature).toEqual({ type: 'Property', value: 22, unitCode: 'CEL', previousValue: 20 });
    });

    test('a batch naming an entity several times notifies each of its elements, in order, each with the value it replaced', async () => {
      const id = uniqueId('Room');
      const path = await subscribe({ entities: [{ id, type: 'Room' }] }, { showChanges: true, attributes: ['temperature'] });
      const update = (t: number) => ({ id, type: 'Room', temperature: { type: 'Property', value: t, unitCode: 'CEL' } });
      expect((await h().client.post('/entityOperations/upsert?options=update', [update(20), update(21), update(22)])).status).toBe(201);
      const got = await receiver.waitFor(path, 3);
      expect(got.map((n) => n.body.data[0].temperature)).toEqual([
        { type: 'Property', value: 20, unitCode: 'CEL' },
        { type: 'Property', value: 21, unitCode: 'CEL', previousValue: 20 },
        { type: 'Property', value: 22, unitCode: 'CEL', previousValue: 21 },
      ]);
      await settle(300);
      expect(receiver.on(path)).toHaveLength(3);
    });

    test('showChanges on a deleted entity gives every attribute with its previous value', async () => {
      const id = uniqueId('Room');
      const path = await subscribe({ entities: [{ id, type: 'Room' }], notificationTrigger: ['entityDeleted'] }, { showChanges: true });
      await h().client.post('/entities', room(id, 20, { name: { type: 'Property', value: 'lab' }, in: { type: 'Relationship', object: 'urn:ngsi-ld:Building:1' } }));
      await h().client.delete(`/entities/${id}`);
      const [n] = await receiver.waitFor(path, 1);
      expect(n.body.data[0]).toEqual({
        id,
        type: 'Room',
        deletedAt: expect.stringMatching(/Z$/),
        temperature: { type: 'Property', value: 'urn:ngsi-ld:null', previousValue: 20 },
        name: { type: 'Property', value: 'urn:ngsi-ld:null', previousValue: 'lab' },
        in: { type: 'Relationship', object: 'urn:ngsi-ld:null', previousObject: 'urn:ngsi-ld:Building:1' },
      });
    });

    test('endpoint.accept application/ld+json puts the @context in the body; geo+json sends a FeatureCollection', async () => {
      const id = uniqueId('Room');
      const ld = await subscribe({ entities: [{ id, type: 'Room' }] }, { endpoint: { accept: 'application/ld+json' } });
      const geo = await subscribe({ entities: [{ id, type: 'Room' }] }, { endpoint: { accept: 'application/geo+json' } });
      await h().client.post('/entities', room(id, 20, { location: { type: 'GeoProperty', value: { type: 'Point', coordinates: [1, 2] } } }));
      const [l] = await receiver.waitFor(ld, 1);
      expect(l.headers['content-type']).toBe('application/ld+json');
      expect(l.headers.link).toBeUndefined();
      expect(l.body['@context']).toBeDefined();
      const [g] = await receiver.waitFor(geo, 1);
      expect(g.body.data).toMatchObject({ type: 'FeatureCollection', features: [{ id, type: 'Feature', geometry: { type: 'Point', coordinates: [1, 2] } }] });
    });

    test('receiverInfo becomes headers; a tenant’s notifications carry NGSILD-Tenant', async () => {
      const tenant = `n${Math.random().toString(36).slice(2, 8)}`;
      const headers = { 'NGSILD-Tenant': tenant };
      const id = uniqueId('Room');
      const path = await subscribe({ entities: [{ type: 'Room' }] }, { endpoint: { receiverInfo: [{ key: 'X-Auth-Token', value: 'secret' }] } }, headers);
      await h().client.post('/entities', room(id, 20), { headers });
      const [n] = await receiver.waitFor(path, 1);
      expect(n.headers['x-auth-token']).toBe('secret');
      expect(n.headers['ngsild-tenant']).toBe(tenant);
      // Another tenant's entity of the same type does not concern it.
      await h().client.post('/entities', room(uniqueId('Room'), 20));
      await settle(300);
      expect(receiver.on(path)).toHaveLength(1);
    });

    test('notifications are compacted with the subscription’s context', async () => {
      const id = uniqueId('Sensor');
      const context = [{ ex: 'https://example.org/ns#' }, 'https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld'];
      const path = `/${uniqueId('n')}`;
      const sub = { type: 'Subscription', entities: [{ type: 'ex:Sensor' }], notification: { endpoint: { uri: receiver.url(path), accept: 'application/ld+json' } }, '@context': context };
      expect((await h().client.post('/subscriptions', sub, { headers: { 'Content-Type': 'application/ld+json' } })).status).toBe(201);
      const entity = { id, type: 'ex:Sensor', 'ex:level': { type: 'Property', value: 3 }, '@context': context };
      expect((await h().client.post('/entities', entity, { headers: { 'Content-Type': 'application/ld+json' } })).status).toBe(201);
      const [n] = await receiver.waitFor(path, 1);
      expect(n.body.data[0]).toMatchObject({ id, type: 'ex:Sensor', 'ex:level': { value: 3 } });
    });

    test('a paused subscription does not notify; resumed, it does again', async () => {
      const id = uniqueId('Room');
      const path = await subscribe({ entities: [{ id, type: 'Room' }], isActive: false });
      await h().client.post('/entities', room(id, 20));
      await settle(300);
      expect(receiver.on(path)).toHaveLength(0);
      const subs = (await h().client.get('/subscriptions?limit=1000')).body as Array<{ id: string; notification: { endpoint: { uri: string } } }>;
      const sub = subs.find((s) => s.notification.endpoint.uri.endsWith(path))!;
      expect((await h().client.patch(`/subscriptions/${sub.id}`, { isActive: true })).status).toBe(204);
      await h().client.patch(`/entities/${id}/attrs`, { temperature: { type: 'Property', value: 21 } });
      await receiver.waitFor(path, 1);
    });

    test('an expired subscription reports status expired and notifies no more', async () => {
      const id = uniqueId('Room');
      const subId = uniqueId('Subscription');
      const path = `/${uniqueId('n')}`;
      const expiresAt = new Date(Date.now() + 1500).toISOString();
      await h().client.post('/subscriptions', { id: subId, type: 'Subscription', entities: [{ id, type: 'Room' }], expiresAt, notification: { endpoint: { uri: receiver.url(path) } } });
      await eventually(async () => expect((await h().client.get(`/subscriptions/${subId}`)).body.status).toBe('expired'));
      await h().client.post('/entities', room(id, 20));
      await settle(300);
      expect(receiver.on(path)).toHaveLength(0);
    });

    test('throttling lets one notification through per period', async () => {
      const id = uniqueId('Room');
      const path = await subscribe({ entities: [{ id, type: 'Room' }], throttling: 60 });
      await h().client.post('/entities', room(id, 20));
      for (let t = 21; t < 25; t++) await h().client.patch(`/entities/${id}/attrs`, { temperature: { type: 'Property', value: t } });
      await receiver.waitFor(path, 1);
      await settle(400);
      expect(receiver.on(path)).toHaveLength(1);
    });

    test('timeInterval sends the matching entities periodically, changed or not', async () => {
      const id = uniqueId('Clock');
      await h().client.post('/entities', { id, type: 'Clock', tick: { type: 'Property', value: 1 } });
      const path = await subscribe({ entities: [{ id, type: 'Clock' }], timeInterval: 1 });
      const [first, second] = await receiver.waitFor(path, 2, 5000);
      expect(first.body.data).toEqual([{ id, type: 'Clock', tick: { type: 'Property', value: 1 } }]);
      expect(second.body.data).toEqual(first.body.data);
      expect(second.body.id).not.toBe(first.body.id);
    });

    test('batch operations, merge and replace notify like single ones', async () => {
      const ids = [uniqueId('Bin'), uniqueId('Bin')];
      const path = await subscribe({ entities: [{ type: 'Bin', idPattern: ids.map((i) => i.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|') }] });
      await h().client.post('/entityOperations/create', ids.map((id) => ({ id, type: 'Bin', fill: { type: 'Property', value: 0 } })));
      await h().client.post('/entityOperations/upsert?options=update', ids.map((id) => ({ id, type: 'Bin', fill: { type: 'Property', value: 10 } })));
      await h().client.patch(`/entities/${ids[0]}`, { fill: { type: 'Property', value: 20 } });
      await h().client.put(`/entities/${ids[1]}`, { type: 'Bin', fill: { type: 'Property', value: 30 } });
      const got = await receiver.waitFor(path, 6);
      const fills = got.map((n) => `${n.body.data[0].id === ids[0] ? 'a' : 'b'}${n.body.data[0].fill.value}`).sort();
      expect(fills).toEqual(['a0', 'a10', 'a20', 'b0', 'b10', 'b30']);
    });

    test('status: success and failure are recorded; a failing endpoint is retried until it answers', async () => {
      const id = uniqueId('Room');
      const subId = uniqueId('Subscription');
      await withFailingEndpoint(async (failing) => {
      await h().client.post('/subscriptions', { id: subId, type: 'Subscription', entities: [{ id, type: 'Room' }], notification: { endpoint: { uri: failing.url() } } });
      await h().client.post('/entities', room(id, 20));
      await failing.waitFor(undefined, 2);
      const failed = (await h().client.get(`/subscriptions/${subId}`)).body.notification;
      expect(failed).toMatchObject({ status: 'failed', lastFailure: expect.stringMatching(/Z$/) });
      expect(failed.timesFailed).toBeGreaterThanOrEqual(1);
      failing.status = 200;
      const count = failing.on().length;
      await failing.waitFor(undefined, count + 1);
      await eventually(async () => expect((await h().client.get(`/subscriptions/${subId}`)).body.notification).toMatchObject({ status: 'ok', lastSuccess: expect.stringMatching(/Z$/) }));
      const health = (await (await fetch(`${h().broker.url}/health`)).json()) as { notifications: { sent: number; failed: number } };
      expect(health.notifications.failed).toBeGreaterThanOrEqual(2);
      expect(health.notifications.sent).toBeGreaterThanOrEqual(1);
      // The same notification every time, until it got through.
      expect(new Set(failing.on().map((r) => r.body.id)).size).toBe(1);
      await settle(400);
      expect(failing.on()).toHaveLength(count + 1);
      });
    });

    test('cooldown: after a failure the endpoint is sent nothing for that long; the notifications of that time follow, in order', async () => {
      const id = uniqueId('Room');
      const subId = uniqueId('Subscription');
      await withFailingEndpoint(async (failing) => {
      const endpoint = { uri: failing.url(), cooldown: 2000 };
      await h().client.post('/subscriptions', { id: subId, type: 'Subscription', entities: [{ id, type: 'Room' }], notification: { endpoint } });
      await h().client.post('/entities', room(id, 20));
      await failing.waitFor(undefined, 1);
      await h().client.patch(`/entities/${id}/attrs`, { temperature: 21 });
      await h().client.patch(`/entities/${id}/attrs`, { temperature: 22 });
      await settle(800);
      // Retries come every 100 ms here and each update is a notification of its own: all wait for the cooldown.
      expect(failing.on()).toHaveLength(1);
      const cooling = (await h().client.get(`/subscriptions/${subId}`)).body.notification;
      expect(cooling).toMatchObject({ status: 'failed', timesSent: 1, timesFailed: 1 });
      failing.status = 200;
      await failing.waitFor(undefined, 4);
      const temperatures = failing.on().map((r) => r.body.data[0].temperature.value);
      expect(temperatures).toEqual([20, 20, 21, 22]);
      await eventually(async () => expect((await h().client.get(`/subscriptions/${subId}`)).body.notification).toMatchObject({ status: 'ok', timesSent: 4, timesFailed: 1 }));
      });
    });

    test('cooldown shorter than the retry delay: the notifications held wait for the failed one and follow it', async () => {
      const id = uniqueId('Room');
      await withFailingEndpoint(async (failing) => {
      // Retries come after 100 ms here: the held notifications must not go before the failed one's retry.
      const endpoint = { uri: failing.url(), cooldown: 30 };
      expect((await h().client.post('/subscriptions', { type: 'Subscription', entities: [{ id, type: 'Room' }], notification: { endpoint } })).status).toBe(201);
      await h().client.post('/entities', room(id, 20));
      await failing.waitFor(undefined, 1);
      failing.status = 200;
      await h().client.patch(`/entities/${id}/attrs`, { temperature: 21 });
      await h().client.patch(`/entities/${id}/attrs`, { temperature: 22 });
      await failing.waitFor(undefined, 4);
      expect(failing.on().map((r) => r.body.data[0].temperature.value)).toEqual([20, 20, 21, 22]);
      });
    });

    test('an unreachable endpoint and a slow one fail and show it, without holding up others', async () => {
      const id = uniqueId('Room');
      const slow = await Receiver.start();
      let release!: () => void;
      slow.hold = new Promise((resolve) => (release = resolve));
      try {
        const slowSub = uniqueId('Subscription');
        const deadSub = uniqueId('Subscription');
        await h().client.post('/subscriptions', { id: slowSub, type: 'Subscription', entities: [{ id, type: 'Room' }], notification: { endpoint: { uri: slow.url(), timeout: 300 } } });
        await h().client.post('/subscriptions', { id: deadSub, type: 'Subscription', entities: [{ id, type: 'Room' }], notification: { endpoint: { uri: 'http://127.0.0.1:9/closed' } } });
        const fast = await subscribe({ entities: [{ id, type: 'Room' }] });
        await h().client.post('/entities', room(id, 20));
        await receiver.waitFor(fast, 1);
        await slow.waitFor(undefined, 1);
        for (const sub of [slowSub, deadSub]) {
          await eventually(async () => expect((await h().client.get(`/subscriptions/${sub}`)).body.notification.status).toBe('failed'));
        }
      } finally {
        release();
        await slow.close();
      }
    });
  },
  FAST,
);

describeEachStore(
  'initial notification (CIVITAS_INITIAL_NOTIFICATION=true)',
  (h) => {
    test('a new subscription is sent the entities that already match, once', async () => {
      const receiver = await Receiver.start();
      try {
        const id = uniqueId('Lamp');
        await h().client.post('/entities', { id, type: 'Lamp', on: { type: 'Property', value: true } });
        await h().client.post('/entities', { id: uniqueId('Lamp'), type: 'Lamp', on: { type: 'Property', value: false } });
        const res = await h().client.post('/subscriptions', { type: 'Subscription', entities: [{ id, type: 'Lamp' }], notification: { endpoint: { uri: receiver.url() } } });
        expect(res.status).toBe(201);
        const [first] = await receiver.waitFor(undefined, 1);
        expect(first.body.data).toEqual([{ id, type: 'Lamp', on: { type: 'Property', value: true } }]);
        await settle(300);
        expect(receiver.on()).toHaveLength(1);
      } finally {
        await receiver.close();
      }
    });
  },
  { ...FAST, CIVITAS_INITIAL_NOTIFICATION: 'true' },
);
