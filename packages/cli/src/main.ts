/**
 * `civitas`: starts the whole system in one process with the configuration
 * from the environment (see the README's configuration table).
 */
import { configFromEnv, startBroker } from '@civitas/broker';

async function main(): Promise<void> {
  const config = configFromEnv();
  const broker = await startBroker(config);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal} received, shutting down`);
    await broker.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error) => {
  console.error('Civitas failed to start:', error);
  process.exit(1);
});
