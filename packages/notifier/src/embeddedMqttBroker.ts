/**
 * The MQTT broker Civitas starts itself when MQTT_URL names none (DESIGN.md):
 * Aedes on a TCP port, for notifications to mqtt:// endpoints and for the
 * devices of the IoT agent. It keeps nothing across restarts; a deployment
 * that needs that points MQTT_URL at Mosquitto, EMQX or VerneMQ.
 */
import { createServer, Server } from 'node:net';
import { createBroker } from 'aedes';
import type { AddressInfo } from 'node:net';

export interface EmbeddedMqttBroker {
  port: number;
  url: string;
  /** Subscribes this process to `topic` (MQTT wildcards), without a client connection. */
  subscribe(topic: string, deliver: (topic: string, payload: Buffer) => void): Promise<void>;
  /** Publishes from this process, without a client connection. */
  publish(topic: string, payload: string, qos: 0 | 1): Promise<void>;
  close(): Promise<void>;
}

export interface EmbeddedMqttOptions {
  port: number;
  host?: string;
  /** When set, only these credentials may connect. */
  credentials?: { username: string; password: string };
}

export async function startEmbeddedMqttBroker(options: EmbeddedMqttOptions): Promise<EmbeddedMqttBroker> {
  const aedes = createBroker({
    ...(options.credentials
      ? {
          authenticate: (_client, username, password, done) => {
            const ok = username === options.credentials!.username && password?.toString() === options.credentials!.password;
            done(null, ok);
          },
        }
      : {}),
  });
  const server: Server = createServer(aedes.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    subscribe: (topic, deliver) =>
      new Promise((resolve) =>
        aedes.subscribe(
          topic,
          (packet, done) => {
            deliver(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
            done();
          },
          () => resolve(),
        ),
      ),
    publish: (topic, payload, qos) =>
      new Promise((resolve, reject) =>
        aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false }, (e) => (e ? reject(e) : resolve())),
      ),
    close: async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
