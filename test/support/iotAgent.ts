/**
 * Runs IoT agent tests end to end: a broker over each store kind, an MQTT
 * broker (the embedded one, or the Mosquitto on this host), and an agent
 * writing to the broker over HTTP (or calling it directly, as all-in-one
 * does) and keeping its provisioning in the broker's store. Devices are simulated with a real MQTT client and real
 * HTTP requests.
 */
import mqtt, { MqttClient } from 'mqtt';
import { InProcessEntitySink, iotAgentConfigFromEnv, IotAgentConfig, RunningIotAgent, startIotAgent } from '@civitas/iot-agent';
import { EmbeddedMqttBroker, startEmbeddedMqttBroker } from '@civitas/notifier';
import { BrokerHarness, startOn, storeKinds } from './broker';

export const MOSQUITTO_URL = process.env.TEST_MQTT_URL || 'mqtt://127.0.0.1:1883';

export interface AgentHarness extends BrokerHarness {
  agent: RunningIotAgent;
  mqttUrl: string;
  /** The provisioning API, with FIWARE's service headers. */
  iot(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  /** A device's request to the HTTP southbound. */
  south(method: string, path: string, body?: string, contentType?: string): Promise<{ status: number; text: string }>;
  /** Publishes as a device would. */
  publish(topic: string, payload: string | Buffer): Promise<void>;
  /** A connected MQTT client subscribed to `topic`, to see what the agent publishes there; `next()` is its next message. */
  device(topic: string): Promise<{ client: MqttClient; next(): Promise<{ topic: string; payload: string }> }>;
  /** What the agent logged as errors. */
  errors: string[];
}

export interface AgentOptions {
  /** The embedded broker reached over a client connection, Mosquitto, or the embedded broker attached to in-process (all-in-one). */
  mqtt?: 'embedded' | 'mosquitto' | 'in-process';
  agent?: Partial<IotAgentConfig>;
  /** How measures reach the broker: its HTTP API (default), or a direct call as in the all-in-one process. */
  sink?: 'http' | 'in-process';
}

let keyCounter = 0;
/** A fresh API key or device id per call, so that tests (and test files sharing Mosquitto) do not collide. */
export function uniqueKey(prefix = 'key'): string {
  keyCounter += 1;
  return `${prefix}${Date.now().toString(36)}${process.pid.toString(36)}${keyCounter}`;
}

export const SERVICE_HEADERS = { 'fiware-service': 'smartcity', 'fiware-servicepath': '/test' };

export function describeAgentOnEachStore(title: string, suite: (h: () => AgentHarness) => void, options: AgentOptions = {}): void {
  for (const kind of storeKinds()) {
    const mqttKind = options.mqtt ?? 'embedded';
    describe(`${title} [${kind.name}, ${mqttKind} MQTT]`, () => {
      let harness: AgentHarness | undefined;
      const cleanups: Array<() => Promise<unknown> | void> = [];
      beforeAll(async () => {
        const started = await startOn(kind);
        cleanups.push(started.cleanup, () => started.harness.broker.close());
        let mqttUrl = MOSQUITTO_URL;
        let embedded: EmbeddedMqttBroker | undefined;
        if (mqttKind !== 'mosquitto') {
          embedded = await startEmbeddedMqttBroker({ port: 0 });
          cleanups.push(() => embedded!.close());
          mqttUrl = embedded.url;
        }
        const errors: string[] = [];
        const agent = await startIotAgent(
          { ...iotAgentConfigFromEnv({}), host: '127.0.0.1', northPort: 0, httpPort: 0, brokerUrl: started.harness.broker.url, mqttUrl, ...options.agent },
          {
            provisioning: started.harness.store.provisioning,
            log: { info: () => undefined, error: (m) => errors.push(m) },
            sink: options.sink === 'in-process' ? new InProcessEntitySink((request) => started.harness.broker.upsertEntities(request)) : undefined,
            localMqtt: mqttKind === 'in-process' ? embedded : undefined,
          },
        );
        cleanups.push(() => agent.close());
        const publisher = await mqtt.connectAsync(mqttUrl);
        cleanups.push(() => publisher.endAsync());
        const north = `http://127.0.0.1:${agent.northPort}`;
        const south = `http://127.0.0.1:${agent.httpPort}`;
        harness = {
          ...started.harness,
          agent,
          mqttUrl,
          errors,
          iot: async (method, path, body, headers = SERVICE_HEADERS) => {
            const res = await fetch(`${north}${path}`, {
              method,
              headers: { ...headers, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
              body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
            });
            const text = await res.text();
            return { status: res.status, body: text ? JSON.parse(text) : undefined };
          },
          south: async (method, path, body, contentType = 'text/plain') => {
            const res = await fetch(`${south}${path}`, { method, headers: body === undefined ? {} : { 'Content-Type': contentType }, body });
            return { status: res.status, text: await res.text() };
          },
          publish: async (topic, payload) => {
            await publisher.publishAsync(topic, payload, { qos: 1 });
          },
          device: async (topic) => {
            const client = await mqtt.connectAsync(mqttUrl);
            cleanups.push(() => client.endAsync());
            await client.subscribeAsync(topic, { qos: 1 });
            const next = () => new Promise<{ topic: string; payload: string }>((resolve) => client.once('message', (t, p) => resolve({ topic: t, payload: p.toString() })));
            return { client, next };
          },
        };
      });
      afterAll(async () => {
        for (const c of cleanups.reverse()) await c();
      });
      suite(() => {
        if (!harness) throw new Error('The agent did not start');
        return harness;
      });
    });
  }
}
