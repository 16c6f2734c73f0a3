/**
 * The MQTT southbound: subscribes to the device topics on the configured
 * broker (the embedded one or any other, Mosquitto say), hands messages to
 * the ingest, and publishes commands. A client connection reconnects by
 * itself and re-subscribes on every connection. An agent in the process of
 * the embedded broker attaches to it directly instead: the messages then
 * skip a client connection over the loopback (its encoding, socket writes
 * and parsing, a third of what a message costs the broker).
 */
import mqtt, { MqttClient } from 'mqtt';
import { withMembers } from '@civitas/core';
import type { Log } from '../northbound/batchingWriter';
import type { Ingest } from './ingest';
import { parseTopic, SUBSCRIBED_TOPICS } from './topics';

export interface MqttSouthboundOptions {
  url: string;
  /**
   * A shared subscription group (`$share/<group>/...`, MQTT 5 and Mosquitto):
   * agents in one group split the device traffic instead of each taking all of it.
   */
  sharedGroup?: string;
  username?: string;
  password?: string;
  clientId?: string;
  qos: 0 | 1;
}

/** An MQTT broker in this process, which the agent can subscribe to and publish on without a connection. */
export interface LocalMqttBroker {
  readonly url: string;
  subscribe(topic: string, deliver: (topic: string, payload: Buffer) => void): Promise<void>;
  publish(topic: string, payload: string, qos: 0 | 1): Promise<void>;
}

/** How the southbound reaches its broker. */
interface MqttLink {
  readonly connected: boolean;
  publish(topic: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

export class MqttSouthbound {
  private constructor(private readonly link: MqttLink) {}

  static async connect(options: MqttSouthboundOptions, ingest: Ingest, log: Log): Promise<MqttSouthbound> {
    const client = mqtt.connect(options.url, {
      username: options.username,
      password: options.password,
      clientId: options.clientId ?? `civitas-iota-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
    });
    client.on('connect', () => {
      client.subscribe(
        SUBSCRIBED_TOPICS.map((t) => (options.sharedGroup ? `$share/${options.sharedGroup}/${t}` : t)),
        { qos: options.qos },
        (err) => (err ? log.error(`MQTT subscription failed: ${err.message}`) : log.info(`IoT agent subscribed to device topics on ${options.url}`)),
      );
    });
    client.on('offline', () => log.error(`IoT agent lost its MQTT connection to ${options.url}; reconnecting`));
    client.on('error', (e) => log.error(`MQTT: ${e.message}`));
    client.on('message', (topic, payload) => receive(topic, payload, ingest, log));
    await new Promise<void>((resolve) => {
      // The agent starts even when the MQTT broker is not up yet; the client keeps trying.
      const timer = setTimeout(resolve, 2_000);
      client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return new MqttSouthbound(clientLink(client, options.qos));
  }

  /** Subscribes to the device topics of a broker in this process. */
  static async attach(broker: LocalMqttBroker, qos: 0 | 1, ingest: Ingest, log: Log): Promise<MqttSouthbound> {
    for (const topic of SUBSCRIBED_TOPICS) await broker.subscribe(topic, (t, payload) => receive(t, payload, ingest, log));
    log.info(`IoT agent subscribed to device topics on the embedded MQTT broker (${broker.url})`);
    return new MqttSouthbound({ connected: true, publish: (topic, payload) => broker.publish(topic, payload, qos), close: async () => undefined });
  }

  get connected(): boolean {
    return this.link.connected;
  }

  publish(topic: string, payload: string): Promise<void> {
    return this.link.publish(topic, payload);
  }

  close(): Promise<void> {
    return this.link.close();
  }
}

function receive(topic: string, payload: Buffer, ingest: Ingest, log: Log): void {
  const parsed = parseTopic(topic);
  if (!parsed) return;
  ingest.handle(withMembers(parsed, { payload, transport: 'MQTT' as const })).catch((e) => log.error(`MQTT message on ${topic} failed: ${(e as Error).message}`));
}

function clientLink(client: MqttClient, qos: 0 | 1): MqttLink {
  return {
    get connected() {
      return client.connected;
    },
    publish: (topic, payload) => new Promise((resolve, reject) => client.publish(topic, payload, { qos }, (e) => (e ? reject(e) : resolve()))),
    close: () => new Promise((resolve) => client.end(false, {}, () => resolve())),
  };
}
