/**
 * How far V8's old generation may grow past what the last full collection
 * left alive before the next one runs (CIVITAS_HEAP_GROWTH_PERCENT).
 *
 * Left to itself, V8 lets a fast allocator grow the old generation to three
 * or four times its live size. Under load a broker promotes the garbage of
 * requests in flight, so its resident memory then swings between the live
 * heap and several times that. 100 (the old generation at most doubles)
 * holds the peak near twice the live heap for a few percent more CPU in
 * collections; 0 leaves the choice to V8.
 */
import v8 from 'node:v8';

export const DEFAULT_HEAP_GROWTH_PERCENT = 100;

export function heapGrowthPercent(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.CIVITAS_HEAP_GROWTH_PERCENT;
  if (raw === undefined || raw === '') return DEFAULT_HEAP_GROWTH_PERCENT;
  const percent = Number(raw);
  if (!Number.isInteger(percent) || percent < 0 || percent > 1000) {
    throw new Error(`CIVITAS_HEAP_GROWTH_PERCENT must be an integer from 0 to 1000, not ${JSON.stringify(raw)}`);
  }
  return percent;
}

/** Applies the growth limit to this process; V8 reads it at every full collection. */
export function limitHeapGrowth(percent: number): void {
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
