/** Several agents on one MQTT broker (Mosquitto) share the device traffic: each message reaches one of them. */
import mqtt from 'mqtt';
import { iotAgentConfigFromEnv, RunningIotAgent, startIotAgent } from '@civitas/iot-agent';
import { startOn, storeKinds } from '../support/broker';
import { eventually } from '../support/receiver';
import { MOSQUITTO_URL, uniqueKey } from '../support/iotAgent';

const [kind] = storeKinds();

test('agents in one shared subscription group split the messages between them, none twice', async () => {
  const { harness, cleanup } = await startOn(kind);
  const group = uniqueKey('group');
  const agents: RunningIotAgent[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      agents.push(
        await startIotAgent(
          { ...iotAgentConfigFromEnv({}), host: '127.0.0.1', northPort: 0, httpPort: 0, brokerUrl: harness.broker.url, mqttUrl: MOSQUITTO_URL, mqttSharedGroup: group },
          { provisioning: harness.store.provisioning, log: { info: () => undefined, error: () => undefined } },
        ),
      );
    }
    const apikey = uniqueKey();
    const res = await fetch(`http://127.0.0.1:${agents[0].northPort}/iot/services`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'fiware-service': 'shared', 'fiware-servicepath': '/' },
      body: JSON.stringify({ services: [{ apikey, resource: '/iot/d', entity_type: 'Counter' }] }),
    });
    expect(res.status).toBe(201);
    const publisher = await mqtt.connectAsync(MOSQUITTO_URL);
    const devices = Array.from({ length: 40 }, (_, i) => `c${i}`);
    for (const d of devices) await publisher.publishAsync(`/${apikey}/${d}/attrs`, 'n|1', { qos: 1 });
    await publisher.endAsync();
    await eventually(async () => {
      const r = await harness.client.get('/entities?type=Counter&limit=100&count=true', { headers: { 'NGSILD-Tenant': 'shared' } });
      expect(r.headers.get('ngsild-results-count')).toBe('40');
    });
    const received = agents.map((a) => a.metrics.messagesReceived);
    expect(received[0] + received[1]).toBe(40);
    expect(Math.min(...received)).toBeGreaterThan(0);
  } finally {
    for (const a of agents) await a.close();
    await harness.broker.close();
    await cleanup();
  }
});
