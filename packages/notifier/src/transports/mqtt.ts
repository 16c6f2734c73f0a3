/**
 * MQTT endpoints (7.2): `mqtt[s]://[user[:password]@]host[:port]/topic`. The
 * message is `{metadata, body}`, metadata holding what HTTP would send as
 * headers. notifierInfo may set MQTT-QoS (0, 1, 2) and MQTT-Version
 * (mqtt3.1.1, mqtt5.0). One connection per broker and credentials, kept
 * open and reconnecting by itself; while it is down, sends fail at once and
 * the notifier retries them.
 */
import mqtt, { MqttClient } from 'mqtt';
import { DeliveryTarget, envelope, Transport } from './transport';

export class MqttTransport implements Transport {
  private readonly clients = new Map<string, MqttClient>();

  /** `ca`: the certificate authorities an MQTTS broker's certificate is checked against (Node.js's bundled ones by default). */
  constructor(
    private readonly absoluteUrl: (url: string) => string,
    private readonly ca?: string[],
  ) {}

  async send(target: DeliveryTarget, notification: Record<string, unknown>, timeoutMs: number): Promise<void> {
    const endpoint = target.subscription.notification.endpoint;
    const url = new URL(endpoint.uri);
    const info = new Map((endpoint.notifierInfo ?? []).map(({ key, value }) => [key, value]));
    const qos = Number(info.get('MQTT-QoS') ?? 0);
    if (qos !== 0 && qos !== 1 && qos !== 2) throw new Error(`MQTT-QoS must be 0, 1 or 2, not ${info.get('MQTT-QoS')}`);
    const version = info.get('MQTT-Version') === 'mqtt5.0' ? 5 : 4;
    const topic = decodeURIComponent(url.pathname.replace(/^\//, ''));
    if (topic === '') throw new Error('The MQTT endpoint names no topic');
    const client = await this.connect(url, version, timeoutMs);
    const { headers, body } = envelope(target, notification, this.absoluteUrl);
    const payload = JSON.stringify({ metadata: headers, body });
    await withTimeout(
      new Promise<void>((resolve, reject) => client.publish(topic, payload, { qos }, (e) => (e ? reject(e) : resolve()))),
      timeoutMs,
      'MQTT publish timed out',
    );
  }

  private async connect(url: URL, version: 4 | 5, timeoutMs: number): Promise<MqttClient> {
    const key = `${url.protocol}//${url.username}:${url.password}@${url.host}#${version}`;
    let client = this.clients.get(key);
    if (!client) {
      const broker = `${url.protocol}//${url.host}`;
      client = mqtt.connect(broker, {
        username: url.username ? decodeURIComponent(url.username) : undefined,
        password: url.password ? decodeURIComponent(url.password) : undefined,
        protocolVersion: version,
        reconnectPeriod: 1000,
        connectTimeout: timeoutMs,
        // Offline messages would report success before reaching the broker.
        queueQoSZero: false,
        ...(this.ca ? { ca: this.ca } : {}),
      });
      client.on('error', () => undefined); // reported through the sends that fail
      this.clients.set(key, client);
    }
    if (client.connected) return client;
    const c = client;
    await withTimeout(
      new Promise<void>((resolve) => c.once('connect', () => resolve())),
      Math.min(timeoutMs, 5000),
      `The MQTT broker ${url.host} is not reachable`,
    );
    return c;
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.endAsync(true).catch(() => undefined)));
    this.clients.clear();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
