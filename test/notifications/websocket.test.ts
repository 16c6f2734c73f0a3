/** Notifications over WebSocket: create-and-attach, attach to an existing subscription, delivery that waits for a client. */
import WebSocket from 'ws';
import { describeEachStore, uniqueId } from '../support/broker';
import { eventually, Receiver } from '../support/receiver';

/** A WebSocket client of the broker, collecting the JSON messages it receives. */
async function connect(base: string, tenant?: string): Promise<{ socket: WebSocket; messages: any[] }> {
  const url = `${base.replace(/^http/, 'ws')}/ngsi-ld/ws${tenant ? `?tenant=${tenant}` : ''}`;
  const socket = new WebSocket(url);
  const messages: any[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return { socket, messages };
}

describeEachStore(
  'WebSocket notifications',
  (h) => {
    test('a client creates a subscription over the socket and receives its notifications', async () => {
      const { socket, messages } = await connect(h().broker.url);
      try {
        const id = uniqueId('Room');
        socket.send(JSON.stringify({ action: 'create', subscription: { type: 'Subscription', entities: [{ id, type: 'Room' }] } }));
        await eventually(async () => expect(messages[0]).toMatchObject({ type: 'created', subscriptionId: expect.any(String) }));
        await h().client.post('/entities', { id, type: 'Room', temperature: { type: 'Property', value: 20 } });
        await eventually(async () => expect(messages[1]).toMatchObject({ type: 'Notification', subscriptionId: messages[0].subscriptionId, data: [{ id }] }));
        const status = (await h().client.get(`/subscriptions/${messages[0].subscriptionId}`)).body.notification;
        await eventually(async () => expect((await h().client.get(`/subscriptions/${messages[0].subscriptionId}`)).body.notification.status).toBe('ok'));
        expect(status.endpoint.uri).toBe('urn:civitas:websocket');
      } finally {
        socket.close();
      }
    });

    test('a client attached to an HTTP subscription gets a copy of what the endpoint gets', async () => {
      const receiver = await Receiver.start();
      const tenant = `ws${Math.random().toString(36).slice(2, 8)}`;
      const { socket, messages } = await connect(h().broker.url, tenant);
      try {
        const id = uniqueId('Room');
        const created = await h().client.post(
          '/subscriptions',
          { type: 'Subscription', entities: [{ id, type: 'Room' }], notification: { endpoint: { uri: receiver.url() } } },
          { headers: { 'NGSILD-Tenant': tenant } },
        );
        const subId = created.headers.get('location')!.split('/').pop()!;
        socket.send(JSON.stringify({ action: 'attach', subscriptionId: subId }));
        await eventually(async () => expect(messages[0]).toEqual({ type: 'attached', subscriptionId: subId }));
        await h().client.post('/entities', { id, type: 'Room', temperature: { type: 'Property', value: 20 } }, { headers: { 'NGSILD-Tenant': tenant } });
        const [http] = await receiver.waitFor(undefined, 1);
        await eventually(async () => expect(messages[1]).toEqual(http.body));
      } finally {
        socket.close();
        await receiver.close();
      }
    });

    test('notifications of a WebSocket subscription wait for a client to attach', async () => {
      const first = await connect(h().broker.url);
      const id = uniqueId('Room');
      first.socket.send(JSON.stringify({ action: 'create', subscription: { type: 'Subscription', entities: [{ id, type: 'Room' }] } }));
      await eventually(async () => expect(first.messages[0]?.type).toBe('created'));
      const subId = first.messages[0].subscriptionId;
      first.socket.close();
      await new Promise((resolve) => first.socket.once('close', resolve));
      await h().client.post('/entities', { id, type: 'Room', temperature: { type: 'Property', value: 7 } });
      await eventually(async () => expect((await h().client.get(`/subscriptions/${subId}`)).body.notification.status).toBe('failed'));
      const second = await connect(h().broker.url);
      try {
        second.socket.send(JSON.stringify({ action: 'attach', subscriptionId: subId }));
        await eventually(async () => expect(second.messages.find((m) => m.type === 'Notification')?.data[0].temperature.value).toBe(7));
      } finally {
        second.socket.close();
      }
    });

    test('bad messages get an error and leave the connection open', async () => {
      const { socket, messages } = await connect(h().broker.url);
      try {
        socket.send('not json');
        socket.send(JSON.stringify({ action: 'attach', subscriptionId: 'urn:ngsi-ld:Subscription:none' }));
        socket.send(JSON.stringify({ action: 'create', subscription: { type: 'Subscription' } }));
        socket.send(JSON.stringify({ action: 'dance' }));
        await eventually(async () => expect(messages).toHaveLength(4));
        expect(messages.map((m) => m.errorType)).toEqual([
          'https://uri.etsi.org/ngsi-ld/errors/InvalidRequest',
          'https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound',
          'https://uri.etsi.org/ngsi-ld/errors/BadRequestData',
          'https://uri.etsi.org/ngsi-ld/errors/BadRequestData',
        ]);
        expect(messages.every((m) => m.type === 'error' && typeof m.detail === 'string')).toBe(true);
        expect(socket.readyState).toBe(WebSocket.OPEN);
      } finally {
        socket.close();
      }
    });
  },
  { CIVITAS_NOTIFY_RETRY_MS: '100', CIVITAS_NOTIFY_RETRY_MAX_MS: '500', CIVITAS_NOTIFY_POLL_MS: '100' },
);
