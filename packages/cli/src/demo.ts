#!/usr/bin/env node
/**
 * `civitas-demo`: a city's worth of simulated devices for a running Civitas.
 * Provisions every example config group of `examples/config-groups` (one per
 * Smart Data Model) through the IoT agent's FIWARE API, then publishes each
 * example's sample payload over MQTT every few seconds, its numbers varied a
 * little, so that entities, history and notifications move.
 *
 *   IOTA_NORTH_URL=http://127.0.0.1:4041 MQTT_URL=mqtt://127.0.0.1:1883 civitas-demo [--rounds N] [--interval ms]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import mqtt from 'mqtt';

export interface DemoExample {
  name: string;
  'fiware-service': string;
  'fiware-servicepath': string;
  services: Array<Record<string, unknown> & { apikey: string }>;
  devices: Array<Record<string, unknown> & { device_id: string }>;
  sample: { codec: 'ul' | 'json'; payload: string | Record<string, unknown> };
}

export const EXAMPLES_DIR = resolve(__dirname, '..', '..', '..', 'examples', 'config-groups');

export function loadExamples(dir = EXAMPLES_DIR): DemoExample[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: f.replace(/\.json$/, ''), ...JSON.parse(readFileSync(join(dir, f), 'utf8')) }));
}

/** A number varied by up to 5%, keeping its decimals; anything else as it is. */
function vary(value: unknown): unknown {
  if (typeof value !== 'number') return value;
  const decimals = (String(value).split('.')[1] ?? '').length;
  return Number((value * (0.95 + Math.random() * 0.1)).toFixed(decimals));
}

/** The sample payload with its numbers varied: UltraLight `k|v` pairs or a JSON object. */
export function samplePayload(sample: DemoExample['sample']): string {
  if (typeof sample.payload !== 'string') {
    return JSON.stringify(Object.fromEntries(Object.entries(sample.payload).map(([k, v]) => [k, vary(v)])));
  }
  return sample.payload
    .split('|')
    .map((field, i) => (i % 2 === 1 && /^-?\d+(\.\d+)?$/.test(field) ? String(vary(Number(field))) : field))
    .join('|');
}

/** Provisions the examples' groups and devices; ones that exist already are left as they are. */
export async function provisionExamples(northUrl: string, examples: DemoExample[]): Promise<void> {
  for (const e of examples) {
    const headers = { 'Content-Type': 'application/json', 'fiware-service': e['fiware-service'], 'fiware-servicepath': e['fiware-servicepath'] };
    for (const [path, body] of [['/iot/services', { services: e.services }], ['/iot/devices', { devices: e.devices }]] as const) {
      const res = await fetch(`${northUrl}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
      if (res.status !== 201 && res.status !== 409) throw new Error(`Provisioning ${e.name} (${path}) failed: ${res.status} ${await res.text()}`);
    }
  }
}

export async function runDemo(options: { northUrl: string; mqttUrl: string; rounds: number; intervalMs: number; log?: (m: string) => void }): Promise<void> {
  const examples = loadExamples();
  await provisionExamples(options.northUrl, examples);
  options.log?.(`Provisioned ${examples.length} example device groups: ${examples.map((e) => e.name).join(', ')}`);
  const client = await mqtt.connectAsync(options.mqttUrl);
  try {
    for (let round = 0; round < options.rounds; round++) {
      if (round > 0) await new Promise((r) => setTimeout(r, options.intervalMs));
      for (const e of examples) {
        for (const d of e.devices) await client.publishAsync(`/${e.sample.codec}/${e.services[0].apikey}/${d.device_id}/attrs`, samplePayload(e.sample), { qos: 1 });
      }
      options.log?.(`Round ${round + 1}: ${examples.length} measures published`);
    }
  } finally {
    await client.endAsync();
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const arg = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
  runDemo({
    northUrl: process.env.IOTA_NORTH_URL || `http://127.0.0.1:${process.env.IOTA_NORTH_PORT || 4041}`,
    mqttUrl: process.env.MQTT_URL || `mqtt://127.0.0.1:${process.env.CIVITAS_MQTT_PORT || 1883}`,
    rounds: arg('--rounds', Number.POSITIVE_INFINITY),
    intervalMs: arg('--interval', 5000),
    log: (m) => console.log(m),
  }).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
