/**
 * DateTimes as NGSI-LD writes them (4.6.3): UTC, trailing Z, at most six
 * fractional digits.
 */

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/;

let lastMicros = 0;

/**
 * Now, in NGSI-LD form with microseconds. Strictly increasing within a
 * process, so that two changes in the same millisecond still order by
 * modifiedAt.
 */
export function nowIso(): string {
  let micros = Date.now() * 1000;
  if (micros <= lastMicros) micros = lastMicros + 1;
  lastMicros = micros;
  const iso = new Date(Math.floor(micros / 1000)).toISOString();
  return `${iso.slice(0, -1)}${String(micros % 1000).padStart(3, '0')}Z`;
}

export function isDateTime(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = DATE_TIME.exec(value);
  if (!m) return false;
  return !Number.isNaN(Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[8] === 'Z' ? 'Z' : m[8]}`));
}

/** Normalises an accepted DateTime (comma decimals, offsets) to UTC with a Z, keeping the precision given (up to microseconds). */
export function normalizeDateTime(value: string): string {
  const m = DATE_TIME.exec(value);
  if (!m) return value;
  const fraction = (m[7] ?? '').slice(0, 6);
  const base = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[8]}`);
  const iso = base.toISOString().slice(0, 19);
  return fraction ? `${iso}.${fraction}Z` : `${iso}Z`;
}
