/**
 * Two broker processes on one PostgreSQL schema: an entity one of them has
 * answered from memory (its entity cache) is read afresh once the other
 * changes it; an endpoint's cooldown after a failure one of them met holds
 * the other's notifications too.
 */
import type { ChildProcess } from 'node:child_process';
import { eventually, Receiver, settle } from '../support/receiver';
import { dropSchema, freshSchemaName } from '../support/schemas';
import { apiPort, startCivitas, stopCivitas } from '../support/civitasProcess';

const url = process.env.DATABASE_URL;
const json = { 'Content-Type': 'application/json' };

async function start(schema: string): Promise<{ child: ChildProcess; base: string }> {
  const { child, ready: port } = await startCivitas({ DATABASE_URL: url!, CIVITAS_DB_SCHEMA: schema, MQTT_URL: 'mqtt://127.0.0.1:1883' }, apiPort);
  return { child, base: `http://127.0.0.1:${port}/ngsi-ld/v1` };
}

async function valueAt(base: string, id: string): Promise<unknown> {
  const res = await fetch(`${base}/entities/${encodeURIComponent(id)}?format=keyValues`);
  return res.status === 404 ? undefined : ((await res.json()) as { n: unknown }).n;
}

async function setAt(base: string, id: string, n: number): Promise<void> {
  const res = await fetch(`${base}/entities/${encodeURIComponent(id)}/attrs`, { method: 'PATCH', headers: json, body: JSON.stringify({ n: { type: 'Property', value: n } }) });
  expect(res.status).toBe(204);
}

// Only a server store can be shared by two processes; CI always sets DATABASE_URL.
(url ? test : test.skip)('an entity retrieved through one broker shows what another broker on the same database wrote', async () => {
  const schema = freshSchemaName('shared');
  const [a, b] = await Promise.all([start(schema), start(schema)]);
  try {
    const id = `urn:ngsi-ld:Counter:${Date.now()}`;
    const created = await fetch(`${a.base}/entities`, { method: 'POST', headers: json, body: JSON.stringify({ id, type: 'Counter', n: { type: 'Property', value: 0 } }) });
    expect(created.status).toBe(201);
    for (let n = 1; n <= 5; n++) {
      // Each broker has just answered the entity (from memory the second time) when the other changes it.
      const [writer, reader] = n % 2 ? [a, b] : [b, a];
      expect(await valueAt(reader.base, id)).toBe(n - 1);
      expect(await valueAt(reader.base, id)).toBe(n - 1);
      await setAt(writer.base, id, n);
      await eventually(async () => expect(await valueAt(reader.base, id)).toBe(n), 5_000);
    }
    const deleted = await fetch(`${a.base}/entities/${encodeURIComponent(id)}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    await eventually(async () => expect(await valueAt(b.base, id)).toBeUndefined(), 5_000);
  } finally {
    await Promise.all([stopCivitas(a.child), stopCivitas(b.child)]);
    await dropSchema(url!, schema);
  }
}, 60_000);

(url ? test : test.skip)('a failure one broker met cools the endpoint down for the other broker too', async () => {
  const schema = freshSchemaName('shared');
  const [a, b] = await Promise.all([start(schema), start(schema)]);
  const failing = await Receiver.start();
  failing.status = 500;
  try {
    const id = `urn:ngsi-ld:Counter:${Date.now()}`;
    const subscription = { type: 'Subscription', entities: [{ id, type: 'Counter' }], notification: { endpoint: { uri: failing.url(), cooldown: 3000 } } };
    expect((await fetch(`${a.base}/subscriptions`, { method: 'POST', headers: json, body: JSON.stringify(subscription) })).status).toBe(201);
    const created = await fetch(`${a.base}/entities`, { method: 'POST', headers: json, body: JSON.stringify({ id, type: 'Counter', n: { type: 'Property', value: 0 } }) });
    expect(created.status).toBe(201);
    await failing.waitFor(undefined, 1);
    // The failure a met is recorded within milliseconds.
    await settle(200);
    await setAt(b.base, id, 1);
    await settle(1000);
    expect(failing.on()).toHaveLength(1);
    failing.status = 200;
    await failing.waitFor(undefined, 3);
    expect(failing.on().map((r) => r.body.data[0].n.value)).toEqual([0, 0, 1]);
  } finally {
    await Promise.all([stopCivitas(a.child), stopCivitas(b.child), failing.close()]);
    await dropSchema(url!, schema);
  }
}, 60_000);
