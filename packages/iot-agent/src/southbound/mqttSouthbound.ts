/**
 * The MQTT southbound: subscribes to the device topics on the configured
 * broker (the embedded one or any other, Mosquitto say), hands messages to
 * the ingest, and publishes commands. The client reconnects by itself and
 * re-subscribes on every connection.
 */
import mqtt, { MqttClient } from 'mqtt';
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

export class MqttSouthbound {
  private constructor(
    private readonly client: MqttClient,
    private readonly qos: 0 | 1,
  ) {}

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
    client.on('message', (topic, payload) => {
      const parsed = parseTopic(topic);
      if (!parsed) return;
      ingest.handle({ ...parsed, payload, transport: 'MQTT' }).catch((e) => log.error(`MQTT message on ${topic} failed: ${(e as Error).message}`));
    });
    await new Promise<void>((resolve) => {
      // The agent starts even when the MQTT broker is not up yet; the client keeps trying.
      const timer = setTimeout(resolve, 2_000);
      client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return new MqttSouthbound(client, options.qos);
  }

  get connected(): boolean {
    return this.client.connected;
  }

  publish(topic: string, payload: string): Promise<void> {
    return new Promise((resolve, reject) => this.client.publish(topic, payload, { qos: this.qos }, (e) => (e ? reject(e) : resolve())));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.client.end(false, {}, () => resolve()));
  }
}
