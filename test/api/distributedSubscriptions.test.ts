/**
 * Distributed subscriptions (5.8.1.4, 5.8.6): a subscription is also made at
 * the Context Sources registered for what it watches (a second broker, over
 * real HTTP), which notify this broker; their notifications reach the
 * subscriber under the subscription's own id.
 */
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BrokerHarness, describeEachStore, startOn, storeKinds, uniqueId } from '../support/broker';
import { eventually, Receiver, settle } from '../support/receiver';

interface RemoteSubscription {
  id: string;
  description?: string;
  entities?: Array<{ type: string }>;
  q?: string;
  notification: { endpoint: { uri: string } };
}

describeEachStore(
  'distributed subscriptions',
  (h) => {
    let source: { harness: BrokerHarness; cleanup(): Promise<void> };
    let receiver: Receiver;
    beforeAll(async () => {
      source = await startOn(storeKinds()[0], { CIVITAS_CONTEXT_SOURCE_ID: 'urn:ngsi-ld:ContextSource:subscribed-source' });
      receiver = await Receiver.start();
    });
    afterAll(async () => {
      await receiver.close();
      await source.harness.broker.close();
      await source.cleanup();
    });

    /** Headers naming a tenant; none for the default one. */
    const of = (tenant?: string): { headers: Record<string, string> } => ({ headers: tenant ? { 'NGSILD-Tenant': tenant } : {} });

    const register = async (type: string, extra: Record<string, unknown> = {}, tenant?: string): Promise<string> => {
      const res = await h().client.post('/csourceRegistrations', { type: 'ContextSourceRegistration', information: [{ entities: [{ type }] }], endpoint: source.harness.broker.url, ...extra }, of(tenant));
      expect(res.status).toBe(201);
      return res.headers.get('location')!.split('/').pop()!;
    };

    const subscribe = async (type: string, extra: Record<string, unknown> = {}, tenant?: string): Promise<{ id: string; path: string }> => {
      const id = uniqueId('Subscription');
      const path = `/${uniqueId('n')}`;
      const body = { id, type: 'Subscription', entities: [{ type }], notification: { format: 'keyValues', endpoint: { uri: receiver.url(path) } }, ...extra };
      const res = await h().client.post('/subscriptions', body, of(tenant));
      expect(res.status).toBe(201);
      return { id, path };
    };

    /** The subscriptions the source holds for entities of `type`. */
    const atSource = async (type: string): Promise<RemoteSubscription[]> => {
      const res = await source.harness.client.get('/subscriptions?limit=1000');
      expect(res.status).toBe(200);
      return (res.body as RemoteSubscription[]).filter((s) => s.entities?.some((e) => e.type === type));
    };

    test('a subscription is made at the registered source; its notifications reach the subscriber under the subscription here', async () => {
      const type = `Sensor${Date.now().toString(36)}`;
      await register(type);
      const { id, path } = await subscribe(type, { q: 'level>3' });
      const [remote] = await eventually(async () => {
        const found = await atSource(type);
        expect(found).toHaveLength(1);
        return found;
      });
      expect(remote.q).toBe('level>3');
      expect(remote.notification.endpoint.uri).toMatch(new RegExp(`^${h().broker.url}/ngsi-ld/v1/remoteNotifications/`));
      const remoteEntity = `urn:ngsi-ld:${type}:remote`;
      expect((await source.harness.client.post('/entities', { id: remoteEntity, type, level: 5 })).status).toBe(201);
      // Changes here notify as ever.
      expect((await h().client.post('/entities', { id: `urn:ngsi-ld:${type}:local`, type, level: 7 })).status).toBe(201);
      const received = await receiver.waitFor(path, 2);
      expect(received.map((r) => r.body.subscriptionId)).toEqual([id, id]);
      const data = received.flatMap((r) => r.body.data).sort((a, b) => a.id.localeCompare(b.id));
      expect(data).toEqual([
        { id: `urn:ngsi-ld:${type}:local`, type, level: 7 },
        { id: remoteEntity, type, level: 5 },
      ]);
      // The source's q holds there: a level of 1 does not pass it.
      await source.harness.client.patch(`/entities/${remoteEntity}/attrs`, { level: 1 });
      await settle(300);
      expect(receiver.on(path)).toHaveLength(2);
    });

    test('updating the subscription updates it at the source; deleting it deletes it there', async () => {
      const type = `Sensor${Date.now().toString(36)}`;
      await register(type);
      const { id } = await subscribe(type);
      await eventually(async () => expect(await atSource(type)).toHaveLength(1));
      expect((await h().client.patch(`/subscriptions/${id}`, { q: 'level<2' })).status).toBe(204);
      await eventually(async () => expect((await atSource(type))[0]?.q).toBe('level<2'));
      // A member removed here goes there too.
      expect((await h().client.patch(`/subscriptions/${id}`, { q: null, description: 'all levels' })).status).toBe(204);
      await eventually(async () => expect(await atSource(type)).toEqual([expect.objectContaining({ description: 'all levels' })]));
      expect((await atSource(type))[0].q).toBeUndefined();
      expect((await h().client.delete(`/subscriptions/${id}`)).status).toBe(204);
      await eventually(async () => expect(await atSource(type)).toHaveLength(0));
    });

    test('subscriptions follow the registrations: a later one is subscribed to, a deleted one unsubscribed from', async () => {
      const type = `Sensor${Date.now().toString(36)}`;
      const { id, path } = await subscribe(type);
      await settle(200);
      expect(await atSource(type)).toHaveLength(0);
      const registration = await register(type);
      await eventually(async () => expect(await atSource(type)).toHaveLength(1));
      await source.harness.client.post('/entities', { id: `urn:ngsi-ld:${type}:1`, type, level: 1 });
      const [notified] = await receiver.waitFor(path, 1);
      expect(notified.body).toMatchObject({ subscriptionId: id, data: [{ id: `urn:ngsi-ld:${type}:1`, level: 1 }] });
      expect((await h().client.delete(`/csourceRegistrations/${registration}`)).status).toBe(204);
      await eventually(async () => expect(await atSource(type)).toHaveLength(0));
    });

    test('a registration moved to another endpoint takes the subscription with it', async () => {
      const type = `Sensor${Date.now().toString(36)}`;
      const front = await startFront(() => 'pass');
      try {
        const registration = await register(type, { endpoint: front.url });
        await subscribe(type);
        await eventually(async () => expect(await atSource(type)).toHaveLength(1));
        const [before] = await atSource(type);
        expect((await h().client.patch(`/csourceRegistrations/${registration}`, { endpoint: source.harness.broker.url })).status).toBe(204);
        // Deleted where it was (through the front), made where the registration now points.
        await eventually(async () => {
          const now = await atSource(type);
          expect(now).toHaveLength(1);
          expect(now[0].id).not.toBe(before.id);
        });
      } finally {
        await front.close();
      }
    });

    test('a subscription asking for GeoJSON gets the sources\' notifications as GeoJSON', async () => {
      const type = `Sensor${Date.now().toString(36)}`;
      await register(type);
      await subscribe(type, { notification: { endpoint: { uri: receiver.url(`/geo-${type}`), accept: 'application/geo+json' } } });
      await eventually(async () => expect(await atSource(type)).toHaveLength(1));
      await source.harness.client.post('/entities', { id: `urn:ngsi-ld:${type}:1`, type, level: 1, location: { type: 'GeoProperty', value: { type: 'Point', coordinates: [-3.7, 40.4] } } });
      const [notified] = await receiver.waitFor(`/geo-${type}`, 1);
      expect(notified.headers['content-type']).toBe('application/geo+json');
      expect(notified.body.data).toMatchObject({ type: 'FeatureCollection', features: [{ id: `urn:ngsi-ld:${type}:1`, geometry: { type: 'Point', coordinates: [-3.7, 40.4] } }] });
    });

    test('a registration that expires takes the subscription made at its source with it', async () => {
      const type = `Sensor${Date.now().toString(36)}`;
      await register(type, { expiresAt: new Date(Date.now() + 1500).toISOString() });
      await subscribe(type);
      await eventually(async () => expect(await atSource(type)).toHaveLength(1));
      // No request tells of the expiry: the periodic check (every 500 ms here) finds it.
      await eventually(async () => expect(await atSource(type)).toHaveLength(0));
    });

    test('csf picks the registrations by their properties; localOnly subscribes at none', async () => {
      const type = `Sensor${Date.now().toString(36)}`;
      await register(type, { city: 'Madrid' });
      const berlin = await subscribe(type, { csf: 'city=="Berlin"' });
      const local = await subscribe(type, { localOnly: true });
      const madrid = await subscribe(type, { csf: 'city=="Madrid"' });
      await eventually(async () => expect(await atSource(type)).toHaveLength(1));
      await settle(300);
      expect(await atSource(type)).toHaveLength(1);
      await source.harness.client.post('/entities', { id: `urn:ngsi-ld:${type}:1`, type, level: 1 });
      await receiver.waitFor(madrid.path, 1);
      await settle(300);
      expect(receiver.on(berlin.path)).toHaveLength(0);
      expect(receiver.on(local.path)).toHaveLength(0);
      expect((await h().client.get(`/subscriptions/${local.id}`)).body.localOnly).toBe(true);
    });

    /**
     * A server in front of the source: `answer` says, for the n-th request
     * (from 1), with which status to refuse it, to pass it on (answered
     * without Location), or to pass it on and answer 503 as if the answer
     * were lost.
     */
    async function startFront(answer: (n: number) => number | 'pass' | 'lose'): Promise<{ url: string; requests(): number; close(): Promise<void> }> {
      let requests = 0;
      const front: Server = createServer(async (req, res) => {
        requests += 1;
        const status = answer(requests);
        if (typeof status === 'number') {
          res.writeHead(status).end();
          return;
        }
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => ['content-type', 'via', 'ngsild-tenant'].includes(k))) as Record<string, string>;
        const passed = await fetch(`${source.harness.broker.url}${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
        // 'lose': the source did it, but its answer does not come back.
        if (status === 'lose') res.writeHead(503).end();
        else res.writeHead(passed.status).end(Buffer.from(await passed.arrayBuffer()));
      });
      await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
      return {
        url: `http://127.0.0.1:${(front.address() as AddressInfo).port}`,
        requests: () => requests,
        close: () => new Promise((resolve) => front.close(() => resolve())),
      };
    }

    test('a source that is down when it should be subscribed to is tried again until it answers', async () => {
      const type = `Sensor${Date.now().toString(36)}`;
      // The first two requests meet an outage; without Location, the subscription is found again by the id it was given.
      const front = await startFront((n) => (n <= 2 ? 503 : 'pass'));
      try {
        await register(type, { endpoint: front.url });
        const { id, path } = await subscribe(type);
        await eventually(async () => expect(await atSource(type)).toHaveLength(1), 15_000);
        // Refused twice; then the update finds nothing there, and the creation, under the same id, goes through.
        expect(front.requests()).toBe(4);
        await source.harness.client.post('/entities', { id: `urn:ngsi-ld:${type}:1`, type, level: 1 });
        await receiver.waitFor(path, 1);
        expect((await h().client.delete(`/subscriptions/${id}`)).status).toBe(204);
        await eventually(async () => expect(await atSource(type)).toHaveLength(0));
      } finally {
        await front.close();
      }
    }, 30_000);

    test('a creation whose answer was lost is not made twice: the retry finds it by its id', async () => {
      const type = `Sensor${Date.now().toString(36)}`;
      const front = await startFront((n) => (n === 1 ? 'lose' : 'pass'));
      try {
        await register(type, { endpoint: front.url });
        const { path } = await subscribe(type);
        await eventually(async () => expect(front.requests()).toBe(2), 15_000);
        await settle(300);
        expect(await atSource(type)).toHaveLength(1);
        await source.harness.client.post('/entities', { id: `urn:ngsi-ld:${type}:1`, type, level: 1 });
        await receiver.waitFor(path, 1);
        await settle(300);
        expect(receiver.on(path)).toHaveLength(1);
      } finally {
        await front.close();
      }
    });

    test('a source that refuses the subscription is not asked again until something changes', async () => {
      const type = `Sensor${Date.now().toString(36)}`;
      const front = await startFront(() => 422);
      try {
        await register(type, { endpoint: front.url });
        const { id } = await subscribe(type);
        await eventually(async () => expect(front.requests()).toBe(1));
        // A retry would have come after one second, and another after two.
        await settle(2500);
        expect(front.requests()).toBe(1);
        expect((await h().client.patch(`/subscriptions/${id}`, { q: 'level>1' })).status).toBe(204);
        await eventually(async () => expect(front.requests()).toBe(2));
      } finally {
        await front.close();
      }
    });

    test('an expired subscription is not made at a source registered after it expired', async () => {
      const type = `Sensor${Date.now().toString(36)}`;
      const front = await startFront(() => 'pass');
      try {
        await subscribe(type, { expiresAt: new Date(Date.now() + 1000).toISOString() });
        await settle(1200);
        await register(type, { endpoint: front.url });
        await settle(500);
        expect(front.requests()).toBe(0);
      } finally {
        await front.close();
      }
    });

    describe('brokers registered at each other', () => {
      /** Registers this broker at the source for `type`; returns how to take it back. */
      const registerBack = async (type: string, extra: Record<string, unknown> = {}) => {
        const back = await source.harness.client.post('/csourceRegistrations', { type: 'ContextSourceRegistration', information: [{ entities: [{ type }] }], endpoint: h().broker.url, ...extra });
        expect(back.status).toBe(201);
        return async () => expect((await source.harness.client.delete(back.headers.get('location')!.replace(/^.*\/ngsi-ld\/v1/, ''))).status).toBe(204);
      };
      const here = async (type: string, tenant?: string) =>
        ((await h().client.get('/subscriptions?limit=1000', of(tenant))).body as RemoteSubscription[]).filter((s) => s.entities?.some((e) => e.type === type));

      test.each([
        { where: 'the default tenant', tenant: undefined },
        { where: 'a tenant of its own', tenant: 'city' },
      ])('a registration naming this broker by its alias is not subscribed to by the subscription it passed on ($where)', async ({ tenant }) => {
        const type = `Sensor${Date.now().toString(36)}`;
        await register(type, {}, tenant);
        const alias = (await h().client.get('/info/sourceIdentity', of(tenant))).body.contextSourceAlias;
        // The source reaches this broker's tenant under its alias of that tenant.
        const takeBack = await registerBack(type, { contextSourceAlias: alias, ...(tenant ? { tenant } : {}) });
        const { path } = await subscribe(type, {}, tenant);
        await eventually(async () => expect(await atSource(type)).toHaveLength(1));
        await settle(500);
        expect(await here(type, tenant)).toHaveLength(1);
        await source.harness.client.post('/entities', { id: `urn:ngsi-ld:${type}:1`, type, level: 1 });
        await receiver.waitFor(path, 1);
        await takeBack();
      });

      test('without the alias the subscription passed back is refused: each change is notified once', async () => {
        const type = `Sensor${Date.now().toString(36)}`;
        await register(type);
        const takeBack = await registerBack(type);
        const { path } = await subscribe(type);
        await eventually(async () => expect(await atSource(type)).toHaveLength(1));
        await settle(500);
        expect(await here(type)).toHaveLength(1);
        // A change here goes to the subscriber directly, and not a second time round the source.
        await h().client.post('/entities', { id: `urn:ngsi-ld:${type}:here`, type, level: 2 });
        await receiver.waitFor(path, 1);
        await settle(500);
        expect(receiver.on(path)).toHaveLength(1);
        await takeBack();
      });
    });

    test('a notification to an address no subscription was made under is refused', async () => {
      const res = await h().client.post('/remoteNotifications/no-such-token', { id: 'urn:ngsi-ld:Notification:x', type: 'Notification', subscriptionId: 'urn:x', notifiedAt: new Date().toISOString(), data: [] });
      expect(res.status).toBe(404);
    });
  },
  { CIVITAS_FORWARD_CHECK_MS: '500' },
);
