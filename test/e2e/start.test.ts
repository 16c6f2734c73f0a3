/**
 * The README's start command, as a user runs it: the built `civitas`
 * process on the embedded store, answering /health, keeping its data across
 * a restart, and taking a device's measures through its IoT agent and
 * embedded MQTT broker.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { eventually } from '../support/receiver';
import { loadExamples, runDemo } from '../../packages/cli/src/demo';
import { apiPort, startCivitas, stopCivitas } from '../support/civitasProcess';

interface Started {
  child: ChildProcess;
  port: number;
  northPort: number;
  mqttUrl: string;
  /** Where the agent writes measures, as it logged at start. */
  sink: string;
}

async function start(dataDir: string): Promise<Started> {
  const { child, ready } = await startCivitas(
    { DATABASE_URL: '', MQTT_URL: '', CIVITAS_DATA_DIR: dataDir, CIVITAS_MQTT_PORT: '0' },
    (out) => {
      const port = apiPort(out);
      const agent = /provisioning API on port (\d+), HTTP southbound on port \d+, MQTT on (\S+), writing to (.+)/.exec(out);
      return port !== undefined && agent ? { port, northPort: Number(agent[1]), mqttUrl: agent[2], sink: agent[3] } : undefined;
    },
  );
  return { child, ...ready };
}

const stop = (child: ChildProcess) => stopCivitas(child);

test('starts on the embedded store, serves /health, and keeps entities across a restart', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'civitas-e2e-'));
  try {
    const first = await start(dataDir);
    const base = `http://127.0.0.1:${first.port}`;
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', store: 'embedded' });
    const created = await fetch(`${base}/ngsi-ld/v1/entities`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: 'urn:ngsi-ld:Streetlight:1', type: 'Streetlight', powerState: 'on' }),
    });
    expect(created.status).toBe(201);
    expect(await stop(first.child)).toBe(0);

    const second = await start(dataDir);
    const res = await fetch(`http://127.0.0.1:${second.port}/ngsi-ld/v1/entities/urn:ngsi-ld:Streetlight:1?options=keyValues`);
    expect(await res.json()).toEqual({ id: 'urn:ngsi-ld:Streetlight:1', type: 'Streetlight', powerState: 'on' });

    // A device: provisioned through the agent's FIWARE API, reporting UltraLight over the embedded MQTT broker;
    // its measures go to the broker of the same process without an HTTP hop.
    expect(second.sink).toBe('the broker in this process');
    const provisioned = await fetch(`http://127.0.0.1:${second.northPort}/iot/services`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'fiware-service': 'demo', 'fiware-servicepath': '/' },
      body: JSON.stringify({ services: [{ apikey: 'e2ekey', resource: '/iot/d', entity_type: 'Thermometer', attributes: [{ object_id: 't', name: 'temperature', type: 'Number' }] }] }),
    });
    expect(provisioned.status).toBe(201);
    const device = await mqtt.connectAsync(second.mqttUrl);
    await device.publishAsync('/e2ekey/th1/attrs', 't|19.5', { qos: 1 });
    await device.endAsync();
    const measured = await eventually(async () => {
      const r = await fetch(`http://127.0.0.1:${second.port}/ngsi-ld/v1/entities/urn:ngsi-ld:Thermometer:th1?options=keyValues`, { headers: { 'NGSILD-Tenant': 'demo' } });
      expect(r.status).toBe(200);
      return r.json();
    });
    expect(measured).toEqual({ id: 'urn:ngsi-ld:Thermometer:th1', type: 'Thermometer', temperature: 19.5 });

    // The demo: every example config group provisioned, and one round of its devices' samples.
    await runDemo({ northUrl: `http://127.0.0.1:${second.northPort}`, mqttUrl: second.mqttUrl, rounds: 1, intervalMs: 0 });
    for (const example of loadExamples()) {
      const id = `urn:ngsi-ld:${example.name}:${example.devices[0].device_id}`;
      await eventually(async () => {
        const r = await fetch(`http://127.0.0.1:${second.port}/ngsi-ld/v1/entities/${id}`, { headers: { 'NGSILD-Tenant': example['fiware-service'] } });
        const body = (await r.json()) as Record<string, unknown>;
        // Measured attributes carry observedAt; static ones do not.
        expect(Object.values(body).some((a) => (a as { observedAt?: string })?.observedAt)).toBe(true);
      });
    }
    expect(await stop(second.child)).toBe(0);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 120_000);
