/** The IoT agent's configuration, from the environment (the README's table). */
import { envInt } from '@civitas/core';
import { DEFAULT_WRITER_CONFIG, WriterConfig } from './northbound/batchingWriter';

export interface IotAgentConfig {
  host: string;
  /** Provisioning API, notifications from the broker, metrics (FIWARE's 4041). */
  northPort: number;
  /** HTTP southbound (FIWARE's 7896). */
  httpPort: number;
  /** The NGSI-LD broker the agent writes to. */
  brokerUrl: string;
  /** The agent's north URL as the broker reaches it (notifications, @contexts); derived from the bound port when unset. */
  providerUrl?: string;
  /** The MQTT broker devices publish to; unset leaves MQTT out. */
  mqttUrl?: string;
  mqttUsername?: string;
  mqttPassword?: string;
  mqttQos: 0 | 1;
  /** Shared subscription group, for several agents on one MQTT broker (each message to one of them). */
  mqttSharedGroup?: string;
  /** Largest device payload accepted, in bytes. */
  maxPayloadBytes: number;
  /** How long a device lookup is reused. */
  registryTtlMs: number;
  writer: WriterConfig;
}

export function iotAgentConfigFromEnv(env: NodeJS.ProcessEnv = process.env): IotAgentConfig {
  const mqttUrl = env.IOTA_MQTT_URL || env.MQTT_URL || `mqtt://127.0.0.1:${env.CIVITAS_MQTT_PORT || 1883}`;
  return {
    host: env.IOTA_HOST || env.CIVITAS_HOST || '0.0.0.0',
    northPort: envInt(env.IOTA_NORTH_PORT, 4041),
    httpPort: envInt(env.IOTA_HTTP_PORT, 7896),
    brokerUrl: env.IOTA_CB_URL || `http://127.0.0.1:${env.CIVITAS_PORT || 1026}`,
    providerUrl: env.IOTA_PROVIDER_URL || undefined,
    mqttUrl: env.IOTA_MQTT_URL === 'off' ? undefined : mqttUrl,
    mqttUsername: env.IOTA_MQTT_USERNAME || undefined,
    mqttPassword: env.IOTA_MQTT_PASSWORD || undefined,
    mqttQos: env.IOTA_MQTT_QOS === '1' ? 1 : 0,
    mqttSharedGroup: env.IOTA_MQTT_SHARED_GROUP || undefined,
    maxPayloadBytes: envInt(env.IOTA_MAX_PAYLOAD_BYTES, 64 * 1024),
    registryTtlMs: envInt(env.IOTA_REGISTRY_TTL_MS, 5_000),
    writer: {
      batchSize: envInt(env.IOTA_BATCH_SIZE, DEFAULT_WRITER_CONFIG.batchSize),
      flushMs: envInt(env.IOTA_BATCH_MS, DEFAULT_WRITER_CONFIG.flushMs),
      bufferLimit: envInt(env.IOTA_BUFFER_LIMIT, DEFAULT_WRITER_CONFIG.bufferLimit),
      concurrency: envInt(env.IOTA_WRITE_CONCURRENCY, DEFAULT_WRITER_CONFIG.concurrency),
      retryBaseMs: envInt(env.IOTA_RETRY_MS, DEFAULT_WRITER_CONFIG.retryBaseMs),
      retryMaxMs: envInt(env.IOTA_RETRY_MAX_MS, DEFAULT_WRITER_CONFIG.retryMaxMs),
    },
  };
}
