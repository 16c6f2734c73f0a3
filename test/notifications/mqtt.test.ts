/**
 * MQTT notifications (7.2) against Mosquitto on 127.0.0.1:1883 and against
 * the embedded broker: topic from the URI, QoS from notifierInfo,
 * credentials from the URI, and a broker that goes away and comes back.
 */
import mqtt, { MqttClient } from 'mqtt';
import { EmbeddedMqttBroker, startEmbeddedMqttBroker } from '@civitas/notifier';
import { describeEachStore, uniqueId } from '../support/broker';
import { eventually } from '../support/receiver';

interface Message {
  topic: string;
  payload: any;
  qos: number;
}

/** A test subscriber on an MQTT broker, collecting what arrives on its topics. */
async function listen(url: string, topic: string, options: mqtt.IClientOptions = {}): Promise<{ client: MqttClient; messages: Message[] }> {
  const client = await mqtt.connectAsync(url, options);
  const messages: Message[] = [];
  client.on('message', (t, payload, packet) => messages.push({ topic: t, payload: JSON.parse(payload.toString()), qos: packet.qos }));
  await client.subscribeAsync(topic, { qos: 2 });
  return { client, messages };
}

const MOSQUITTO = process.env.CIVITAS_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';

describeEachStore(
  'MQTT notifications',
  (h) => {
    let embedded: EmbeddedMqttBroker;
    beforeAll(async () => {
      embedded = await startEmbeddedMqttBroker({ port: 0, host: '127.0.0.1', credentials: { username: 'civitas', password: 's3cret' } });
    });
    afterAll(() => embedded.close());

    async function subscribe(endpointUri: string, id: string, notifierInfo?: Array<{ key: string; value: string }>, receiverInfo?: Array<{ key: string; value: string }>) {
      const res = await h().client.post('/subscriptions', {
        type: 'Subscription',
        entities: [{ id, type: 'Room' }],
        notification: { endpoint: { uri: endpointUri, ...(notifierInfo ? { notifierInfo } : {}), ...(receiverInfo ? { receiverInfo } : {}) } },
      });
      expect(res.status).toBe(201);
      return res.headers.get('location')!.split('/').pop()!;
    }

    test('Mosquitto: the notification arrives on the URI’s topic as {metadata, body}, with the QoS asked for', async () => {
      const topic = `civitas-test/${uniqueId('t')}`;
      const { client, messages } = await listen(MOSQUITTO, topic);
      try {
        const id = uniqueId('Room');
        await subscribe(`${MOSQUITTO}/${topic}`, id, [{ key: 'MQTT-QoS', value: '1' }], [{ key: 'X-Origin', value: 'tests' }]);
        await h().client.post('/entities', { id, type: 'Room', temperature: { type: 'Property', value: 20 } });
        await eventually(async () => expect(messages).toHaveLength(1));
        const [m] = messages;
        expect(m.topic).toBe(topic);
        expect(m.qos).toBe(1);
        expect(m.payload.metadata).toMatchObject({ 'Content-Type': 'application/json', 'X-Origin': 'tests', Link: expect.stringContaining('json-ld#context') });
        expect(m.payload.body).toMatchObject({ type: 'Notification', data: [{ id, temperature: { value: 20 } }] });
      } finally {
        await client.endAsync();
      }
    });

    test('embedded broker: credentials from the URI; wrong ones fail and show in the status', async () => {
      const topic = `civitas-test/${uniqueId('t')}`;
      const { client, messages } = await listen(embedded.url, topic, { username: 'civitas', password: 's3cret' });
      try {
        const id = uniqueId('Room');
        const port = embedded.port;
        await subscribe(`mqtt://civitas:s3cret@127.0.0.1:${port}/${topic}`, id);
        const refused = await subscribe(`mqtt://civitas:wrong@127.0.0.1:${port}/${topic}`, id);
        await h().client.post('/entities', { id, type: 'Room', temperature: { type: 'Property', value: 20 } });
        await eventually(async () => expect(messages).toHaveLength(1));
        expect(messages[0].payload.body.data[0].id).toBe(id);
        await eventually(async () => expect((await h().client.get(`/subscriptions/${refused}`)).body.notification.status).toBe('failed'));
      } finally {
        await client.endAsync();
      }
    });

    test('a broker that goes away and comes back: the notification is retried until it is delivered', async () => {
      const broker = await startEmbeddedMqttBroker({ port: 0, host: '127.0.0.1' });
      const port = broker.port;
      const topic = `civitas-test/${uniqueId('t')}`;
      const id = uniqueId('Room');
      const subId = await subscribe(`mqtt://127.0.0.1:${port}/${topic}`, id, [{ key: 'MQTT-QoS', value: '1' }]);
      // A first notification opens the broker's connection to it.
      await h().client.post('/entities', { id, type: 'Room', temperature: { type: 'Property', value: 1 } });
      await eventually(async () => expect((await h().client.get(`/subscriptions/${subId}`)).body.notification.status).toBe('ok'));
      await broker.close();
      await h().client.patch(`/entities/${id}/attrs`, { temperature: { type: 'Property', value: 2 } });
      await eventually(async () => expect((await h().client.get(`/subscriptions/${subId}`)).body.notification.status).toBe('failed'));
      const back = await startEmbeddedMqttBroker({ port, host: '127.0.0.1' });
      try {
        const { client, messages } = await listen(back.url, topic);
        try {
          await eventually(async () => expect(messages.map((m) => m.payload.body.data[0].temperature.value)).toContain(2), 20_000);
          await eventually(async () => expect((await h().client.get(`/subscriptions/${subId}`)).body.notification.status).toBe('ok'));
        } finally {
          await client.endAsync();
        }
      } finally {
        await back.close();
      }
    });
  },
  { CIVITAS_NOTIFY_RETRY_MS: '200', CIVITAS_NOTIFY_RETRY_MAX_MS: '1000', CIVITAS_NOTIFY_POLL_MS: '100', CIVITAS_NOTIFY_TIMEOUT_MS: '2000' },
);
