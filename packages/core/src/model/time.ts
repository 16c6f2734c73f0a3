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

/**
 * An accepted DateTime in NGSI-LD form: UTC with a Z, the precision given
 * kept up to microseconds; comma decimals and offsets are normalised.
 * Undefined when the value is not one. One already in that form is itself,
 * without a Date built for it (the path of every observedAt written).
 */
export function dateTime(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = DATE_TIME.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone] = m;
  if (zone === 'Z' && (fraction === undefined || (fraction.length <= 6 && value[19] === '.')) && fieldsInRange(+y, +mo, +d, +h, +mi, +s)) {
    return value;
  }
  // Out of range fields that Date still takes (February 30, 24:00) come out as the time they name.
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${zone}`);
  if (Number.isNaN(ms)) return undefined;
  const iso = new Date(ms).toISOString().slice(0, 19);
  const kept = (fraction ?? '').slice(0, 6);
  return kept ? `${iso}.${kept}Z` : `${iso}Z`;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function fieldsInRange(year: number, month: number, day: number, hour: number, minute: number, second: number): boolean {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return false;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= DAYS_IN_MONTH[month - 1] + (leap ? 1 : 0);
}
