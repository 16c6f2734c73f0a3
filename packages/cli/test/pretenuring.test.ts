import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * A process that keeps 300,000 objects made by one function, then makes
 * 10 million more there that die at once, as a broker creating its
 * subscriptions and then serving requests does; it prints how many full
 * collections ran.
 */
function fullCollections(stopped: boolean): number {
  const script = `
    ${stopped ? `require(${JSON.stringify(join(__dirname, '../dist/pretenuring.js'))}).stopPretenuring();` : ''}
    const { PerformanceObserver, constants } = require('node:perf_hooks');
    let full = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) full++;
    }).observe({ entryTypes: ['gc'] });
    function make(i) { return { i, s: { n: i }, t: 'x' + i }; }
    const kept = [];
    for (let i = 0; i < 300000; i++) kept.push(make(i));
    const inFlight = new Array(1000);
    for (let i = 0; i < 10000000; i++) inFlight[i % inFlight.length] = make(i);
    setTimeout(() => console.log(full, kept.length), 200);
  `;
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).split(' ')[0]);
}

test('short-lived objects of a site whose earlier objects lived long no longer fill the old generation', () => {
  const withPretenuring = fullCollections(false);
  const without = fullCollections(true);
  expect(withPretenuring).toBeGreaterThan(2);
  expect(without).toBeLessThan(withPretenuring / 2);
});
