/**
 * Faults between the agent and its neighbours: a broker that goes away and
 * comes back (measures wait, bounded, and arrive; what overflows is counted),
 * and an MQTT broker that restarts (the agent reconnects and re-subscribes).
 */
import { createServer, Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import mqtt from 'mqtt';
import { iotAgentConfigFromEnv, RunningIotAgent, startIotAgent } from '@civitas/iot-agent';
import { startEmbeddedMqttBroker } from '@civitas/notifier';
import { startOn, storeKinds, BrokerHarness } from '../support/broker';
import { eventually } from '../support/receiver';
import { uniqueKey } from '../support/iotAgent';

const TENANT = { 'NGSILD-Tenant': 'smartcity' };
const SERVICE = { 'fiware-service': 'smartcity', 'fiware-servicepath': '/faults', 'Content-Type': 'application/json' };

/** A TCP relay to the broker that can be cut (connections refused) and restored: the broker "goes away". */
class Relay {
  up = true;
  private sockets = new Set<Socket>();
  private constructor(private readonly server: Server) {}

  static async start(targetPort: number): Promise<Relay> {
    let relay!: Relay;
    const server = createServer((client) => {
      if (!relay.up) return client.destroy();
      const upstream = new Socket();
      upstream.connect(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        relay.sockets.add(s);
        s.on('close', () => relay.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    relay = new Relay(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return relay;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  cut(): void {
    this.up = false;
    for (const s of this.sockets) s.destroy();
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

for (const kind of storeKinds()) {
  describe(`IoT agent faults [${kind.name}]`, () => {
    let broker: BrokerHarness;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      const started = await startOn(kind);
      broker = started.harness;
      cleanup = async () => {
        await broker.broker.close();
        await started.cleanup();
      };
    });
    afterAll(() => cleanup());

    async function agentVia(relay: Relay, mqttUrl: string | undefined, bufferLimit: number): Promise<{ agent: RunningIotAgent; errors: string[] }> {
      const errors: string[] = [];
      const base = iotAgentConfigFromEnv({});
      const agent = await startIotAgent(
        { ...base, host: '127.0.0.1', northPort: 0, httpPort: 0, brokerUrl: `http://127.0.0.1:${relay.port}`, mqttUrl, writer: { ...base.writer, bufferLimit, retryBaseMs: 50, retryMaxMs: 200 } },
        { provisioning: broker.store.provisioning, log: { info: () => undefined, error: (m) => errors.push(m) } },
      );
      return { agent, errors };
    }

    async function provision(agent: RunningIotAgent): Promise<{ apikey: string }> {
      const apikey = uniqueKey();
      const res = await fetch(`http://127.0.0.1:${agent.northPort}/iot/services`, {
        method: 'POST',
        headers: SERVICE,
        body: JSON.stringify({ services: [{ apikey, resource: '/iot/d', entity_type: 'Gauge', attributes: [{ object_id: 'v', name: 'level', type: 'Number' }] }] }),
      });
      expect(res.status).toBe(201);
      return { apikey };
    }

    const level = async (id: string) => (await broker.client.get(`/entities/${encodeURIComponent(id)}?options=keyValues`, { headers: TENANT })).body?.level;

    it('holds measures while the broker is away and writes them all, in order, when it is back', async () => {
      const relay = await Relay.start(broker.broker.port);
      const { agent, errors } = await agentVia(relay, undefined, 10_000);
      try {
        const { apikey } = await provision(agent);
        relay.cut();
        const devices = Array.from({ length: 5 }, () => uniqueKey('gauge'));
        for (let i = 1; i <= 20; i++) {
          for (const d of devices) {
            const res = await fetch(`http://127.0.0.1:${agent.httpPort}/iot/d?k=${apikey}&i=${d}`, { method: 'POST', body: `v|${i}` });
            expect(res.status).toBe(200);
          }
        }
        await eventually(async () => expect(agent.metrics.writeRetries).toBeGreaterThan(0));
        expect(agent.metrics.buffered()).toBe(100);
        expect(errors.some((e) => e.includes('Broker unreachable'))).toBe(true);
        relay.up = true;
        await agent.writer.idle();
        for (const d of devices) expect(await level(`urn:ngsi-ld:Gauge:${d}`)).toBe(20);
        expect(agent.metrics.entitiesWritten).toBe(100);
        expect(agent.metrics.droppedTotal()).toBe(0);
        const history = await broker.client.get(`/temporal/entities/${encodeURIComponent(`urn:ngsi-ld:Gauge:${devices[0]}`)}?attrs=level&options=temporalValues&lastN=100`, { headers: TENANT });
        expect(history.body.level.values.map((v: [number, string]) => v[0])).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      } finally {
        await agent.close();
        await relay.close();
      }
    });

    it('drops, counts and logs what overflows its buffer, and keeps the rest', async () => {
      const relay = await Relay.start(broker.broker.port);
      const { agent, errors } = await agentVia(relay, undefined, 5);
      try {
        const { apikey } = await provision(agent);
        relay.cut();
        const devices = Array.from({ length: 8 }, () => uniqueKey('gauge'));
        for (const d of devices) await fetch(`http://127.0.0.1:${agent.httpPort}/iot/d?k=${apikey}&i=${d}`, { method: 'POST', body: 'v|1' });
        expect(agent.metrics.dropped.get('buffer_overflow')).toBe(3);
        expect(errors.filter((e) => e.includes('limit 5'))).toHaveLength(3);
        const metrics = await (await fetch(`http://127.0.0.1:${agent.northPort}/metrics`)).text();
        expect(metrics).toContain('civitas_iota_dropped_total{reason="buffer_overflow"} 3');
        relay.up = true;
        await agent.writer.idle();
        const written = await Promise.all(devices.map((d) => level(`urn:ngsi-ld:Gauge:${d}`)));
        expect(written.filter((v) => v === 1)).toHaveLength(5);
      } finally {
        await agent.close();
        await relay.close();
      }
    });

    it('reconnects to an MQTT broker that restarts, and takes measures again', async () => {
      let mqttBroker = await startEmbeddedMqttBroker({ port: 0 });
      const port = mqttBroker.port;
      const relay = await Relay.start(broker.broker.port);
      const { agent, errors } = await agentVia(relay, `mqtt://127.0.0.1:${port}`, 1000);
      try {
        const { apikey } = await provision(agent);
        const device = uniqueKey('gauge');
        const publish = async (value: number) => {
          const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`);
          await client.publishAsync(`/${apikey}/${device}/attrs`, `v|${value}`, { qos: 1 });
          await client.endAsync();
        };
        await publish(1);
        await eventually(async () => expect(await level(`urn:ngsi-ld:Gauge:${device}`)).toBe(1));

        await mqttBroker.close();
        await eventually(async () => expect(agent.mqtt?.connected).toBe(false));
        mqttBroker = await startEmbeddedMqttBroker({ port });
        await eventually(async () => expect(agent.mqtt?.connected).toBe(true), 15_000);
        // The subscription is made again on the new connection; a publish may race it, so try until one lands.
        await eventually(async () => {
          await publish(2);
          expect(await level(`urn:ngsi-ld:Gauge:${device}`)).toBe(2);
        }, 15_000);
        expect(errors.some((e) => e.includes('lost its MQTT connection'))).toBe(true);
      } finally {
        await agent.close();
        await relay.close();
        await mqttBroker.close();
      }
    });
  });
}
