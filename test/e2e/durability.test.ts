/**
 * The outbox's promises, with real broker processes: a broker killed in the
 * middle of a stream of updates loses no notification once started again,
 * and two brokers on one PostgreSQL deliver each notification once.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, Receiver, settle } from '../support/receiver';
import { dropSchema, freshSchemaName } from '../support/schemas';
import { apiPort, startCivitas, stopCivitas } from '../support/civitasProcess';
const N = 120;

interface Broker {
  child: ChildProcess;
  base: string;
}

async function start(env: Record<string, string>): Promise<Broker> {
  const { child, ready: port } = await startCivitas(
    {
      MQTT_URL: 'mqtt://127.0.0.1:1883',
      CIVITAS_NOTIFY_LEASE_MS: '1500',
      CIVITAS_NOTIFY_POLL_MS: '100',
      CIVITAS_NOTIFY_RETRY_MS: '100',
      ...env,
    },
    apiPort,
  );
  return { child, base: `http://127.0.0.1:${port}/ngsi-ld/v1` };
}

async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  await stopCivitas(child, signal);
}

const json = { 'Content-Type': 'application/json' };

async function setUp(base: string, receiver: Receiver, id: string): Promise<void> {
  const sub = await fetch(`${base}/subscriptions`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ type: 'Subscription', entities: [{ id, type: 'Counter' }], notification: { endpoint: { uri: receiver.url() } } }),
  });
  expect(sub.status).toBe(201);
  const created = await fetch(`${base}/entities`, { method: 'POST', headers: json, body: JSON.stringify({ id, type: 'Counter', n: { type: 'Property', value: -1 } }) });
  expect(created.status).toBe(201);
}

/** Sets n to `value`, trying again (on whichever broker `base()` names) until a broker confirms it. */
async function write(base: () => string, id: string, value: number): Promise<void> {
  for (;;) {
    try {
      const res = await fetch(`${base()}/entities/${id}/attrs`, { method: 'PATCH', headers: json, body: JSON.stringify({ n: { type: 'Property', value } }) });
      if (res.status === 204) return;
    } catch {
      // the broker is down: wait for the next one
    }
    await settle(50);
  }
}

const valuesOf = (receiver: Receiver) => receiver.on().map((r) => r.body.data[0].n.value as number).filter((v) => v >= 0);

async function killAndRestart(env: Record<string, string>): Promise<void> {
  const receiver = await Receiver.start();
  const id = `urn:ngsi-ld:Counter:${Date.now()}`;
  let broker = await start(env);
  try {
    await setUp(broker.base, receiver, id);
    let current = broker.base;
    const writes = (async () => {
      for (let i = 0; i < N; i++) await write(() => current, id, i);
    })();
    while (valuesOf(receiver).length < N / 3) await settle(10);
    await stop(broker.child, 'SIGKILL');
    broker = await start(env);
    current = broker.base;
    await writes;
    // At least once: a restart may repeat a few, so wait for every value rather than for a count.
    const missing = () => {
      const received = new Set(valuesOf(receiver));
      return Array.from({ length: N }, (_, i) => i).filter((i) => !received.has(i));
    };
    await eventually(async () => expect(missing()).toEqual([]), 30_000);
  } finally {
    await stop(broker.child);
    await receiver.close();
  }
}

test('a broker killed mid-stream delivers every notification after restart [embedded]', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'civitas-kill-'));
  try {
    await killAndRestart({ DATABASE_URL: '', CIVITAS_DATA_DIR: dataDir });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 120_000);

const url = process.env.DATABASE_URL;
// The server store is tested whenever there is one (CI always sets DATABASE_URL).
const onPostgres = (name: string, fn: () => Promise<void>, timeout: number) => {
  if (url) test(name, fn, timeout);
};

onPostgres('a broker killed mid-stream delivers every notification after restart [postgres]', async () => {
  const schema = freshSchemaName('kill');
  try {
    await killAndRestart({ DATABASE_URL: url!, CIVITAS_DB_SCHEMA: schema });
  } finally {
    await dropSchema(url!, schema);
  }
}, 120_000);

onPostgres('two brokers on one PostgreSQL deliver each notification once', async () => {
  const schema = freshSchemaName('pair');
  const receiver = await Receiver.start();
  const env = { DATABASE_URL: url!, CIVITAS_DB_SCHEMA: schema };
  const [a, b] = await Promise.all([start(env), start(env)]);
  try {
    const id = `urn:ngsi-ld:Counter:${Date.now()}`;
    await setUp(a.base, receiver, id);
    await Promise.all([
      (async () => {
        for (let i = 0; i < N; i += 2) await write(() => a.base, id, i);
      })(),
      (async () => {
        for (let i = 1; i < N; i += 2) await write(() => b.base, id, i);
      })(),
    ]);
    // Every write changed the value, so each one is a notification: the creation plus N updates.
    await receiver.waitFor(undefined, N + 1, 30_000);
    await settle(1000);
    const ids = receiver.on().map((r) => r.body.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(N + 1);
    expect(new Set(valuesOf(receiver)).size).toBe(N);
  } finally {
    await Promise.all([stop(a.child), stop(b.child)]);
    await receiver.close();
    await dropSchema(url!, schema);
  }
}, 120_000);
