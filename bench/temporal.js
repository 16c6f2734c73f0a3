/**
 * Temporal scenarios of `npm run bench`, in a tenant of their own:
 *
 *  - the cost of history on the write path: batch upsert throughput of a
 *    Civitas with history against one with CIVITAS_HISTORY=off (a ratio);
 *  - lastN=100 and a one-day hourly avg of one attribute of one entity with
 *    `instances` instances (1,000,000 in a full run).
 */
'use strict';
const autocannon = require('autocannon');

const TENANT = 'bench_temporal';
const HEADERS = { 'Content-Type': 'application/json', 'NGSILD-Tenant': TENANT };

async function post(base, path, body) {
  const res = await fetch(`${base}/ngsi-ld/v1${path}`, { method: 'POST', headers: HEADERS, body: JSON.stringify(body) });
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
}

/** Batch upserts of 100 entities whose value changes with every request, for `seconds`. */
async function upsertRate(base, seconds) {
  let n = 0;
  const r = await autocannon({
    url: base,
    connections: 8,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/ngsi-ld/v1/entityOperations/upsert',
        headers: { 'content-type': 'application/json', 'ngsild-tenant': TENANT },
        setupRequest: (req) => {
          n += 1;
          const body = Array.from({ length: 100 }, (_, j) => ({ id: `urn:ngsi-ld:BenchMeter:${j}`, type: 'BenchMeter', kwh: { type: 'Property', value: n, observedAt: new Date().toISOString() } }));
          return { ...req, body: JSON.stringify(body) };
        },
      },
    ],
  });
  return { rowsPerSecond: r.requests.average * 100, errors: r.errors + r.non2xx + r.timeouts, p50: r.latency.p50, p99: r.latency.p99 };
}

/** Loads `count` instances of one attribute of one entity, one a minute, through the temporal API. */
async function loadHistory(base, id, count) {
  const start = Date.parse('2025-01-01T00:00:00Z');
  const perRequest = 5000;
  for (let i = 0; i < count; i += perRequest * 4) {
    await Promise.all(
      [0, 1, 2, 3].map(async (k) => {
        const from = i + k * perRequest;
        if (from >= count) return;
        const n = Math.min(perRequest, count - from);
        const kwh = Array.from({ length: n }, (_, j) => ({ type: 'Property', value: (from + j) % 1000, observedAt: new Date(start + (from + j) * 60_000).toISOString() }));
        await post(base, '/temporal/entities', { id, type: 'BenchMeter', kwh });
      }),
    );
  }
  return new Date(start + (count - 1) * 60_000);
}

async function latency(url, seconds) {
  const r = await autocannon({ url, connections: 4, duration: seconds, headers: { 'ngsild-tenant': TENANT } });
  return { requestsPerSecond: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx + r.timeouts };
}

async function runTemporalBench({ base, baseWithoutHistory, quick, settle, report }) {
  const seconds = quick ? 3 : 8;
  const withHistory = await upsertRate(base, seconds);
  const withoutHistory = await upsertRate(baseWithoutHistory, seconds);
  report('history on the write path', { withHistory, withoutHistory, ratio: withHistory.rowsPerSecond / withoutHistory.rowsPerSecond });

  const instances = quick ? 100_000 : 1_000_000;
  const id = 'urn:ngsi-ld:BenchMeter:history';
  const t0 = Date.now();
  const last = await loadHistory(base, id, instances);
  console.log(`  ${instances.toLocaleString('en')} instances loaded (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  // What autovacuum would do a minute after the load, done before the measure (see settle in run.js).
  await settle();
  const dayStart = new Date(last.getTime() - 86_400_000).toISOString();
  report(`lastN=100 of ${instances / 1000}k instances`, await latency(`${base}/ngsi-ld/v1/temporal/entities/${id}?attrs=kwh&lastN=100`, seconds));
  report(
    `one-day hourly avg of ${instances / 1000}k instances`,
    await latency(
      `${base}/ngsi-ld/v1/temporal/entities/${id}?attrs=kwh&options=aggregatedValues&aggrMethods=avg&aggrPeriodDuration=PT1H&timerel=between&timeAt=${dayStart}&endTimeAt=${last.toISOString()}`,
      seconds,
    ),
  );
}

module.exports = { runTemporalBench };
