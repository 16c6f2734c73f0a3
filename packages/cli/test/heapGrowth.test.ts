import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { DEFAULT_HEAP_GROWTH_PERCENT, heapGrowthPercent } from '../src/heapGrowth';

test('CIVITAS_HEAP_GROWTH_PERCENT: a default, 0 for V8 to choose, and a clear error for anything else', () => {
  expect(heapGrowthPercent({})).toBe(DEFAULT_HEAP_GROWTH_PERCENT);
  expect(heapGrowthPercent({ CIVITAS_HEAP_GROWTH_PERCENT: '' })).toBe(DEFAULT_HEAP_GROWTH_PERCENT);
  expect(heapGrowthPercent({ CIVITAS_HEAP_GROWTH_PERCENT: '0' })).toBe(0);
  expect(heapGrowthPercent({ CIVITAS_HEAP_GROWTH_PERCENT: '50' })).toBe(50);
  for (const bad of ['abc', '-1', '1.5', '5000']) {
    expect(() => heapGrowthPercent({ CIVITAS_HEAP_GROWTH_PERCENT: bad })).toThrow(/CIVITAS_HEAP_GROWTH_PERCENT must be an integer from 0 to 1000/);
  }
});

/**
 * A process that keeps 300,000 small objects alive and churns through
 * objects that live long enough to be promoted, as the requests in flight
 * of a busy broker do; it prints the largest heap it saw, in MB.
 */
function peakHeapMb(percent: number): number {
  const script = `
    const { limitHeapGrowth } = require(${JSON.stringify(join(__dirname, '../dist/heapGrowth.js'))});
    const v8 = require('node:v8');
    limitHeapGrowth(${percent});
    const live = Array.from({ length: 300000 }, (_, i) => ({ i, s: 'live' + i }));
    const inFlight = new Array(20000);
    let peak = 0;
    for (let i = 0; i < 2000000; i++) {
      inFlight[i % inFlight.length] = { i, payload: 'x' + i, nested: [i, { i }] };
      if (i % 5000 === 0) peak = Math.max(peak, v8.getHeapStatistics().used_heap_size);
    }
    console.log(Math.round(peak / 1048576), live.length);
  `;
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).split(' ')[0]);
}

test('the limit holds the heap nearer its live size than V8 left to itself', () => {
  expect(peakHeapMb(20)).toBeLessThan(peakHeapMb(0));
});
