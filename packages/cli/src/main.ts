/**
 * `civitas`: starts the whole system in one process with the configuration
 * from the environment (see the README's configuration table).
 */
import { configFromEnv, startBroker } from '@civitas/broker';
import { iotAgentConfigFromEnv, RunningIotAgent, startIotAgent } from '@civitas/iot-agent';
import type { ProvisioningStore } from '@civitas/store';
import { EmbeddedMqttBroker, startEmbeddedMqttBroker } from '@civitas/notifier';

async function main(): Promise<void> {
  const config = configFromEnv();
  const mqtt = process.env.MQTT_URL ? undefined : await startMqtt(Number(process.env.CIVITAS_MQTT_PORT ?? 1883));
  const broker = await startBroker(config);
  // The agent writes to this broker over HTTP, as it would to any NGSI-LD broker, and keeps its provisioning in the same store.
  const agent = process.env.CIVITAS_IOT_AGENT === 'off' ? undefined : await startAgent(broker.port, broker.store.provisioning, mqtt);
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

/** The IoT agent; a port already taken leaves it out (with the reason) rather than stopping the broker. */
async function startAgent(brokerPort: number, provisioning: ProvisioningStore, mqtt: EmbeddedMqttBroker | undefined): Promise<RunningIotAgent | undefined> {
  try {
    return await startIotAgent({ ...iotAgentConfigFromEnv(), brokerUrl: `http://127.0.0.1:${brokerPort}`, mqttUrl: iotaMqttUrl(mqtt) }, { provisioning });
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
