/**
 * IoT agent scenario of `npm run bench`: 1,000 simulated devices publish
 * single-measure UltraLight messages over MQTT at a fixed offered rate; the
 * agent maps them and writes them to Civitas (the store under test).
 *
 *  - ingest rate: measures the broker accepted per second, from the first
 *    publish until every measure was written (so a backlog counts against it);
 *  - delay: publish to stored entity, p50 / p99, from the history of a sample
 *    of devices (each measure carries its publish time; the history keeps the
 *    time it was written);
 *  - loss: published minus written (dropped measures are counted by reason).
 */
'use strict';
const mqtt = require('mqtt');

const TENANT = 'bench_iot';
const DEVICES = 1000;
const SAMPLED_DEVICES = 50;

async function metrics(northPort) {
  const text = await (await fetch(`http://127.0.0.1:${northPort}/metrics`)).text();
  const value = (name) => Number((text.split('\n').find((l) => l.startsWith(`${name} `)) ?? `${name} 0`).split(' ')[1]);
  const dropped = text
    .split('\n')
    .filter((l) => l.startsWith('civitas_iota_dropped_total{'))
    .reduce((n, l) => n + Number(l.split(' ')[1]), 0);
  return { written: value('civitas_iota_entities_written_total'), buffered: value('civitas_iota_buffered_updates'), dropped };
}

function percentile(sorted, p) {
  return sorted.length === 0 ? undefined : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Publish-to-store delays of the sampled devices' measures: written time (modifiedAt) minus the publish time the value carries. */
async function delays(base, apikeyPrefix, from) {
  const out = [];
  for (let d = 0; d < SAMPLED_DEVICES; d++) {
    const id = `urn:ngsi-ld:BenchSensor:${apikeyPrefix}${d * Math.floor(DEVICES / SAMPLED_DEVICES)}`;
    const res = await fetch(`${base}/ngsi-ld/v1/temporal/entities/${id}?attrs=t&options=sysAttrs&timerel=after&timeproperty=modifiedAt&timeAt=${from}&lastN=1000`, {
      headers: { 'NGSILD-Tenant': TENANT },
    });
    if (res.status !== 200) continue;
    const body = await res.json();
    for (const instance of [].concat(body.t ?? [])) out.push(Date.parse(instance.modifiedAt) - Number(instance.value));
  }
  return out.sort((a, b) => a - b);
}

async function runIotBench({ base, northPort, mqttUrl, quick, report }) {
  const seconds = quick ? 5 : 15;
  const rates = quick ? [10_000, 12_000] : [2_000, 5_000, 10_000, 12_000];
  const res = await fetch(`http://127.0.0.1:${northPort}/iot/services`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'fiware-service': TENANT, 'fiware-servicepath': '/' },
    body: JSON.stringify({ services: [{ apikey: 'benchkey', resource: '/iot/d', entity_type: 'BenchSensor', attributes: [{ object_id: 't', name: 't', type: 'Number' }] }] }),
  });
  if (res.status !== 201) throw new Error(`provisioning failed: ${res.status} ${await res.text()}`);
  // Several connections, as many devices' gateways would have.
  const clients = await Promise.all(Array.from({ length: 8 }, () => mqtt.connectAsync(mqttUrl)));
  try {
    const prefix = 'd';
    const publish = (d) => clients[d % clients.length].publish(`/benchkey/${prefix}${d}/attrs`, `t|${Date.now()}`);
    /** Publishes `rate` measures a second for `seconds`, in 10 ms slices, round-robin over the devices. */
    const stream = (rate, secs) =>
      new Promise((resolve) => {
        const start = Date.now();
        const total = rate * secs;
        let sent = 0;
        const timer = setInterval(() => {
          const due = Math.min(total, Math.round(((Date.now() - start) / 1000) * rate));
          for (; sent < due; sent++) publish(sent % DEVICES);
          if (sent >= total) {
            clearInterval(timer);
            resolve();
          }
        }, 10);
      });
    const drained = async (from) => {
      for (let waited = 0; (await metrics(northPort)).written < from && waited < 30_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    };
    // First contact autoprovisions each device, and two seconds at 2,000/s warm the path up: neither is the steady state
    // being measured. The rounds share the devices.
    const warm = (await metrics(northPort)).written;
    for (let d = 0; d < DEVICES; d++) publish(d);
    await drained(warm + DEVICES);
    await stream(2_000, 2);
    await drained(warm + DEVICES + 4_000);
    for (const rate of rates) {
      const before = await metrics(northPort);
      const start = Date.now();
      const from = new Date(start).toISOString();
      const total = rate * seconds;
      await stream(rate, seconds);
      const publishedIn = (Date.now() - start) / 1000;
      let after = await metrics(northPort);
      const deadline = Date.now() + 60_000;
      while (after.written + after.dropped - before.written - before.dropped < total && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        after = await metrics(northPort);
      }
      const elapsed = (Date.now() - start) / 1000;
      const written = after.written - before.written;
      const sorted = await delays(base, prefix, from);
      report(`IoT MQTT ingest, offered ${rate.toLocaleString('en')}/s`, {
        rate: written / elapsed,
        unit: 'measures/s',
        offered: rate,
        publishedInSeconds: Number(publishedIn.toFixed(1)),
        drainedInSeconds: Number(elapsed.toFixed(1)),
        latencyMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] },
        sampledDelays: sorted.length,
        lost: total - written,
        dropped: after.dropped - before.dropped,
      });
    }
  } finally {
    await Promise.all(clients.map((c) => c.endAsync()));
  }
}

module.exports = { runIotBench };
