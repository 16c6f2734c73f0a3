/**
 * `civitas`: starts the whole system in one process with the configuration
 * from the environment (see the README's configuration table).
 */
import { configFromEnv, RunningBroker, startBroker } from '@civitas/broker';
import { InProcessEntitySink, iotAgentConfigFromEnv, RunningIotAgent, startIotAgent } from '@civitas/iot-agent';
import { EmbeddedMqttBroker, startEmbeddedMqttBroker } from '@civitas/notifier';
import { heapGrowthPercent, limitHeapGrowth } from './heapGrowth';
import { stopPretenuring } from './pretenuring';

async function main(): Promise<void> {
  limitHeapGrowth(heapGrowthPercent());
  stopPretenuring();
  const config = configFromEnv();
  const mqtt = process.env.MQTT_URL ? undefined : await startMqtt(Number(process.env.CIVITAS_MQTT_PORT ?? 1883));
  const broker = await startBroker(config);
  const agent = process.env.CIVITAS_IOT_AGENT === 'off' ? undefined : await startAgent(broker, mqtt);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal} received, shutting down`);
    await agent?.close();
    await broker.close();
    await mqtt?.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/**
 * The IoT agent, keeping its provisioning in the broker's store. Measures go
 * to the broker in this process directly, and device messages come from the
 * embedded MQTT broker directly; provisioning and commands use the broker's
 * HTTP API, as they would any NGSI-LD broker's. A port already taken leaves
 * the agent out (with the reason) rather than stopping the broker.
 */
async function startAgent(broker: RunningBroker, mqtt: EmbeddedMqttBroker | undefined): Promise<RunningIotAgent | undefined> {
  try {
    return await startIotAgent(
      { ...iotAgentConfigFromEnv(), brokerUrl: broker.url, mqttUrl: iotaMqttUrl(mqtt) },
      {
        provisioning: broker.store.provisioning,
        sink: new InProcessEntitySink((request) => broker.upsertEntities(request)),
        // Devices that publish to the embedded broker reach the agent without a client connection.
        localMqtt: mqtt && !process.env.IOTA_MQTT_URL ? mqtt : undefined,
      },
    );
  } catch (e) {
    console.error(`The IoT agent could not start (${(e as Error).message}); set IOTA_NORTH_PORT and IOTA_HTTP_PORT, or CIVITAS_IOT_AGENT=off`);
    return undefined;
  }
}

/** Devices publish to IOTA_MQTT_URL or MQTT_URL when set, else to the embedded broker (wherever it bound). */
function iotaMqttUrl(embedded: EmbeddedMqttBroker | undefined): string | undefined {
  if (process.env.IOTA_MQTT_URL === 'off') return undefined;
  if (process.env.IOTA_MQTT_URL || process.env.MQTT_URL) return process.env.IOTA_MQTT_URL || process.env.MQTT_URL;
  return embedded ? `mqtt://127.0.0.1:${embedded.port}` : iotAgentConfigFromEnv().mqttUrl;
}

/** The embedded MQTT broker; a port already taken (say, by a Mosquitto on this host) leaves it out rather than stopping Civitas. */
async function startMqtt(port: number): Promise<EmbeddedMqttBroker | undefined> {
  try {
    const mqtt = await startEmbeddedMqttBroker({ port });
    console.log(`Embedded MQTT broker listening on port ${mqtt.port}`);
    return mqtt;
  } catch (e) {
    console.error(`The embedded MQTT broker could not start on port ${port} (${(e as Error).message}); set MQTT_URL or CIVITAS_MQTT_PORT`);
    return undefined;
  }
}

main().catch((error) => {
  console.error('Civitas failed to start:', error);
  process.exit(1);
});
