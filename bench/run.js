#!/usr/bin/env node
/**
 * `npm run bench`: Civitas under load over real HTTP, each figure next to a
 * baseline measured in the same run on the same machine.
 *
 *   npm run bench                      PostgreSQL (DATABASE_URL), 100k and 1M entities
 *   npm run bench -- --quick           a run under two minutes (10k and 50k entities)
 *   npm run bench -- --store embedded  the embedded store
 *   npm run bench -- --only notify     the notification scenarios alone
 *   npm run bench -- --only temporal   the temporal scenarios alone
 *   npm run bench -- --only iot        the IoT agent scenario alone
 *   npm run bench -- --only query      the HTTP baseline and the query scenarios at both sizes
 *   npm run bench -- --only write      both baselines, creates and batch upserts
 *   npm run bench -- --only notify,temporal   several of notify, temporal and iot, in that order, on one Civitas
 *   npm run bench -- --cpu-prof DIR    Civitas writes a V8 CPU profile into DIR when it stops
 *
 * Civitas and the bare-HTTP baseline run as child processes; autocannon
 * drives them from this process. Results go to bench/results.json.
 */
'use strict';
const { spawn } = require('node:child_process');
const { readFileSync, writeFileSync, mkdtempSync, rmSync } = require('node:fs');
const { tmpdir, cpus } = require('node:os');
const { join } = require('node:path');
const autocannon = require('autocannon');
const { Client } = require('pg');
const { runNotificationBench } = require('./notifications');
const { runTemporalBench } = require('./temporal');
const { runIotBench } = require('./iot');

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const store = args.includes('--store') ? args[args.indexOf('--store') + 1] : 'postgres';
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
/** Devices publish to this MQTT broker (say, the Mosquitto on this host); unset uses Civitas' embedded one. */
const mqttUrl = args.includes('--mqtt') ? args[args.indexOf('--mqtt') + 1] : undefined;
/** Civitas runs with V8's CPU profiler, writing a .cpuprofile into this folder when it stops. */
const profileDir = args.includes('--cpu-prof') ? args[args.indexOf('--cpu-prof') + 1] : undefined;
const databaseUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const SIZES = quick ? [10_000, 50_000] : [100_000, 1_000_000];
const DURATION = quick ? 3 : 10;
const CONNECTIONS = 32;
const CORE = 'https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld';

/** A Smart Data Models-shaped entity; i spreads them over a 10 km square around Madrid. */
function entity(i, prefix = 'urn:ngsi-ld:Bench') {
  const types = ['ParkingSpot', 'AirQualityObserved', 'WasteContainer', 'Streetlight'];
  // The write scenarios' entities lie east of the loaded grid, out of the geo scenario's circle at every data size.
  const east = prefix === 'urn:ngsi-ld:Bench' ? 0 : 0.1;
  return {
    id: `${prefix}:${i}`,
    type: types[i % 4],
    fillingLevel: { type: 'Property', value: (i * 7919) % 100, observedAt: '2026-11-25T08:00:00Z' },
    status: { type: 'Property', value: i % 10 === 0 ? 'occupied' : 'free' },
    location: { type: 'GeoProperty', value: { type: 'Point', coordinates: [-3.75 + east + (i % 317) * 0.0003, 40.38 + Math.floor(i / 317) * 0.0003] } },
  };
}

function startProcess(command, argv, env, ready) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk.toString();
      const m = ready.exec(out);
      if (m) resolve({ child, port: Number(m[1]), output: () => out });
    });
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code}: ${out}`)));
  });
}

/** Peak resident memory of a process, sampled while a scenario runs. */
function rssSampler(pid) {
  let peak = 0;
  const read = () => {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m) peak = Math.max(peak, Number(m[1]) * 1024);
  };
  read();
  const timer = setInterval(read, 100);
  return { stop: () => (clearInterval(timer), read(), peak), peak: () => peak };
}

/**
 * Drives `url` with autocannon. `requests` is the list every connection
 * walks from its start; `shares` gives each connection a list of its own
 * instead (one per connection, taken in turn).
 */
async function load(url, requests, { connections = CONNECTIONS, duration = DURATION, shares } = {}) {
  let next = 0;
  const setupClient = shares ? (client) => client.setRequests(shares[next++ % shares.length]) : undefined;
  const result = await autocannon({ url, connections, duration, requests: shares ? [shares[0][0]] : requests, setupClient, pipelining: 1 });
  return {
    requestsPerSecond: result.requests.average,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    errors: result.errors + result.timeouts + result.non2xx,
    total: result.requests.total,
  };
}

/** A prebuilt GET request for autocannon: path and query as given. */
const get = (path) => ({ method: 'GET', path: new URL(path, 'http://x').pathname + new URL(path, 'http://x').search });

async function post(base, path, body) {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
}

/** Loads entities up to `count` with batch upserts of 1,000, several requests at a time. */
async function fill(base, from, count) {
  const batch = 1000;
  const starts = [];
  for (let i = from; i < count; i += batch) starts.push(i);
  for (let k = 0; k < starts.length; k += 4) {
    await Promise.all(
      starts.slice(k, k + 4).map((s) => post(base, '/ngsi-ld/v1/entityOperations/upsert', Array.from({ length: Math.min(batch, count - s) }, (_, j) => entity(s + j)))),
    );
  }
}

/**
 * What autovacuum would do a minute after a bulk load (fresh planner
 * statistics, the new rows' visibility recorded), and the checkpoint that
 * would write its pages out: done before a scenario is measured, rather than
 * by the server in the middle of it. Without them, a vacuum of the million
 * rows just loaded and the checkpoint behind it ran during the read
 * scenarios that follow and took a share of the two cores of every run.
 */
async function settle(schema, tables = ['entities', 'entity_values', 'entity_geo', 'entity_attrs', 'attribute_history']) {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`VACUUM (ANALYZE) ${tables.map((t) => `${schema}.${t}`).join(', ')}`);
    // CHECKPOINT needs a superuser (or pg_checkpoint); without one the server's own checkpoints stay where they fall.
    await client.query('CHECKPOINT').catch((e) => console.log(`  (no checkpoint: ${e.message})`));
  } finally {
    await client.end();
  }
}

/** The database ceiling: plain pg multi-row INSERTs of the same documents, 100 per statement. */
async function insertBaseline(seconds) {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query('CREATE TEMP TABLE bench_baseline (id text PRIMARY KEY, doc jsonb NOT NULL)');
  const deadline = Date.now() + seconds * 1000;
  let rows = 0;
  const started = Date.now();
  while (Date.now() < deadline) {
    const docs = Array.from({ length: 100 }, (_, j) => entity(rows + j, 'urn:ngsi-ld:Baseline'));
    const values = docs.map((_, j) => `($${2 * j + 1}, $${2 * j + 2})`).join(',');
    await client.query(`INSERT INTO bench_baseline (id, doc) VALUES ${values}`, docs.flatMap((d) => [d.id, JSON.stringify(d)]));
    rows += 100;
  }
  const rate = rows / ((Date.now() - started) / 1000);
  await client.end();
  return rate;
}

async function main() {
  const started = Date.now();
  const results = { date: new Date().toISOString(), cores: cpus().length, store, quick, scenarios: [] };
  const bare = await startProcess(process.execPath, [join(__dirname, 'bareServer.js')], {}, /listening on (\d+)/);
  const dataDir = mkdtempSync(join(tmpdir(), 'civitas-bench-'));
  const schema = `bench_${Date.now().toString(36)}`;
  const civitasEnv = {
    CIVITAS_PORT: '0',
    CIVITAS_MQTT_PORT: '0',
    CIVITAS_HOST: '127.0.0.1',
    CIVITAS_DATA_DIR: dataDir,
    DATABASE_URL: '',
    MQTT_URL: mqttUrl ?? '',
    CIVITAS_MAX_BODY_BYTES: String(16 * 1024 * 1024),
    IOTA_NORTH_PORT: '0',
    IOTA_HTTP_PORT: '0',
  };
  if (store === 'postgres') Object.assign(civitasEnv, { DATABASE_URL: databaseUrl, CIVITAS_DB_SCHEMA: schema });
  const main = join(__dirname, '../packages/cli/dist/main.js');
  const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const civitas = await startProcess(process.execPath, [...profile, main], civitasEnv, /API listening on [^:]+:(\d+)/);
  const base = `http://127.0.0.1:${civitas.port}`;
  // The same Civitas without attribute history, for the cost of history on writes.
  const plainDir = mkdtempSync(join(tmpdir(), 'civitas-bench-'));
  const plainEnv = { ...civitasEnv, CIVITAS_DATA_DIR: plainDir, CIVITAS_HISTORY: 'off', CIVITAS_IOT_AGENT: 'off' };
  if (store === 'postgres') plainEnv.CIVITAS_DB_SCHEMA = `${schema}_plain`;
  const plain = await startProcess(process.execPath, [main], plainEnv, /API listening on [^:]+:(\d+)/);
  const record = (name, figure, baseline, rss) => {
    const row = { name, ...figure, baseline, ratio: baseline ? figure.rate / baseline : undefined, peakRssMb: Math.round(rss / 1048576) };
    results.scenarios.push(row);
    console.log(
      `${name.padEnd(36)} ${String(Math.round(figure.rate)).padStart(8)} ${figure.unit.padEnd(9)} p50 ${String(figure.latencyMs?.p50 ?? '-').padStart(4)} ms  p99 ${String(figure.latencyMs?.p99 ?? '-').padStart(5)} ms  errors ${figure.errors ?? 0}  ${baseline ? `${(100 * row.ratio).toFixed(1)}% of baseline` : ''}  rss ${row.peakRssMb} MB`,
    );
  };

  try {
    console.log(`Civitas bench: ${store} store, ${cpus().length} cores, ${quick ? 'quick' : 'full'} run\n`);
    const notify = () =>
      runNotificationBench({
        base,
        quick,
        report: (name, figure) => {
          results.scenarios.push({ name, ...figure });
          console.log(`${name.padEnd(36)} ${JSON.stringify(figure)}`);
        },
      });
    const temporal = () =>
      runTemporalBench({
        base,
        baseWithoutHistory: `http://127.0.0.1:${plain.port}`,
        quick,
        settle: () => (store === 'postgres' ? settle(schema, ['attribute_history']) : Promise.resolve()),
        report: (name, figure) => {
          results.scenarios.push({ name, ...figure });
          console.log(`${name.padEnd(36)} ${JSON.stringify(figure)}`);
        },
      });
    const iot = async () => {
      let agent;
      for (let waited = 0; !(agent = /provisioning API on port (\d+), HTTP southbound on port \d+, MQTT on (\S+),/.exec(civitas.output())) && waited < 10_000; waited += 50) {
        await new Promise((r) => setTimeout(r, 50));
      }
      if (!agent) throw new Error('The IoT agent did not start');
      const sampler = rssSampler(civitas.child.pid);
      await runIotBench({
        base,
        northPort: Number(agent[1]),
        mqttUrl: agent[2],
        quick,
        report: (name, figure) => {
          results.scenarios.push({ name, ...figure, peakRssMb: Math.round(sampler.peak() / 1048576) });
          console.log(
            `${name.padEnd(36)} ${String(Math.round(figure.rate)).padStart(8)} ${figure.unit}  delay p50 ${figure.latencyMs.p50} ms  p99 ${figure.latencyMs.p99} ms  lost ${figure.lost}  drained in ${figure.drainedInSeconds} s  rss ${Math.round(sampler.peak() / 1048576)} MB`,
          );
        },
      });
      sampler.stop();
    };
    /** The HTTP ceiling, measured again where a scenario is compared with it. */
    const bareBaseline = async (label) => {
      const figure = await load(`http://127.0.0.1:${bare.port}/`, undefined);
      record(label, { rate: figure.requestsPerSecond, unit: 'req/s', ...figure }, undefined, 0);
      return figure;
    };
    /**
     * Retrieve, query and geo scenarios at both data sizes, and the ratio of
     * their p50 latencies. Each size's scenarios are compared with the HTTP
     * ceiling measured just before them: a full run's read scenarios come
     * ten minutes after its first baseline, and this machine's speed can
     * change by half in that time. A quick run's two sizes come within half
     * a minute of each other: they share one measure.
     */
    const queries = async () => {
      let loaded = 0;
      const perSize = {};
      let bareFigure;
      for (const size of SIZES) {
        const t0 = Date.now();
        await fill(base, loaded, size);
        loaded = size;
        if (store === 'postgres') await settle(schema);
        console.log(`\n${size.toLocaleString('en')} entities loaded (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
        if (!quick || !bareFigure) bareFigure = await bareBaseline(`baseline: bare node:http @ ${size / 1000}k`);
        // Requests built before the run, as the baseline's is: a request rebuilt for each send costs the generator,
        // which shares the cores with Civitas, several times what it costs to send.
        // 5,000 random ids, each connection reading its own share of them in turn, as 32 consumers each polling
        // their own entities would: one list walked by all 32 from its start had them ask for the same id at
        // the same moment, every one of them waiting on the one read of it.
        const ids = Array.from({ length: 5000 }, () => `/ngsi-ld/v1/entities/urn:ngsi-ld:Bench:${Math.floor(Math.random() * size)}`);
        const scenarios = {
          'retrieve by id': { shares: Array.from({ length: CONNECTIONS }, (_, c) => ids.filter((_, i) => i % CONNECTIONS === c).map(get)) },
          'query type + q': { requests: [get('/ngsi-ld/v1/entities?type=WasteContainer&q=fillingLevel>97;status=="free"&limit=20')] },
          'geo near (about 100 results)': { requests: [get('/ngsi-ld/v1/entities?georel=near;maxDistance==150&geometry=Point&coordinates=[-3.70,40.3845]&limit=200')] },
        };
        for (const [name, { requests, shares }] of Object.entries(scenarios)) {
          const sampler = rssSampler(civitas.child.pid);
          const figure = await load(base, requests, { shares });
          perSize[`${name}@${size}`] = figure;
          record(`${name} @ ${size / 1000}k`, { rate: figure.requestsPerSecond, unit: 'req/s', ...figure }, bareFigure.requestsPerSecond, sampler.stop());
        }
      }
      console.log('');
      for (const name of ['retrieve by id', 'query type + q', 'geo near (about 100 results)']) {
        const small = perSize[`${name}@${SIZES[0]}`];
        const large = perSize[`${name}@${SIZES[1]}`];
        const ratio = small.latencyMs.p50 > 0 ? large.latencyMs.p50 / small.latencyMs.p50 : undefined;
        results.scenarios.push({ name: `${name}: p50 latency ${SIZES[1] / 1000}k vs ${SIZES[0] / 1000}k`, ratio });
        console.log(`${name.padEnd(36)} p50 at ${SIZES[1] / 1000}k / at ${SIZES[0] / 1000}k = ${ratio === undefined ? 'n/a' : ratio.toFixed(2)}`);
      }
    };
    if (only && !only.includes('query') && !only.includes('write')) {
      for (const part of only.split(',')) await { notify, temporal, iot }[part]();
      return;
    }
    /** Single creates against the HTTP baseline, batch upserts against the INSERT baseline. */
    const writes = async (bareFigure) => {
      const insertRate = store === 'postgres' ? await insertBaseline(DURATION) : undefined;
      if (insertRate) record('baseline: pg multi-row INSERT', { rate: insertRate, unit: 'rows/s' }, undefined, 0);

      let counter = 0;
      let sampler = rssSampler(civitas.child.pid);
      const created = await load(`${base}/ngsi-ld/v1/entities`, [
        { method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (r) => ({ ...r, body: JSON.stringify(entity(counter++, 'urn:ngsi-ld:Created')) }) },
      ]);
      record('create single entities', { rate: created.requestsPerSecond, unit: 'req/s', ...created }, bareFigure.requestsPerSecond, sampler.stop());

      sampler = rssSampler(civitas.child.pid);
      let batchNo = 0;
      const upserts = await load(`${base}/ngsi-ld/v1/entityOperations/upsert`, [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          // Each request upserts one block of 100 consecutive entities, the blocks taken in turn from 50.
          setupRequest: (r) => {
            const block = batchNo++ % 50;
            return { ...r, body: JSON.stringify(Array.from({ length: 100 }, (_, j) => entity(block * 100 + j, 'urn:ngsi-ld:Upserted'))) };
          },
        },
      ], { connections: 8 });
      record('batch upsert (100 per request)', { rate: upserts.requestsPerSecond * 100, unit: 'rows/s', ...upserts }, insertRate, sampler.stop());
    };

    if (only === 'query') return await queries();
    await writes(await bareBaseline('baseline: bare node:http'));
    if (only === 'write') return;
    // The write scenarios were a load, settled as every load is before what comes next (see settle).
    if (store === 'postgres') await settle(schema);
    for (const part of [notify, temporal, iot, queries]) {
      console.log('');
      await part();
    }
  } finally {
    // Stopped before its schema is dropped, so that no request of its runs against missing tables.
    await Promise.all(
      [civitas, plain].map(
        (p) =>
          new Promise((resolve) => {
            p.child.once('exit', resolve);
            p.child.kill('SIGTERM');
          }),
      ),
    );
    rmSync(plainDir, { recursive: true, force: true });
    bare.child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
    if (store === 'postgres') {
      const c = new Client({ connectionString: databaseUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.query(`DROP SCHEMA IF EXISTS ${schema}_plain CASCADE`);
      await c.end();
    }
  }
  results.seconds = Math.round((Date.now() - started) / 1000);
  writeFileSync(join(__dirname, 'results.json'), JSON.stringify(results, null, 2));
  console.log(`\nwritten to bench/results.json; the run took ${results.seconds} s`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
