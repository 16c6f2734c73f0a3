/**
 * `civitas`: starts the whole system in one process with the configuration
 * from the environment (see the README's configuration table).
 */
import { configFromEnv, startBroker } from '@civitas/broker';
import { EmbeddedMqttBroker, startEmbeddedMqttBroker } from '@civitas/notifier';

async function main(): Promise<void> {
  const config = configFromEnv();
  const mqtt = process.env.MQTT_URL ? undefined : await startMqtt(Number(process.env.CIVITAS_MQTT_PORT ?? 1883));
  const broker = await startBroker(config);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal} received, shutting down`);
    await broker.close();
    await mqtt?.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
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
