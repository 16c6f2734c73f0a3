/** Reading the configuration environment shared by every Civitas process. */

/** A non-negative integer setting: `fallback` when unset or empty, an error naming the value otherwise. */
export function envInt(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`Expected a non-negative integer, got ${JSON.stringify(value)}`);
  return n;
}
