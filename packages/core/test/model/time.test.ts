/** DateTimes as NGSI-LD writes them (4.6.3): what is accepted, and the form it is kept in. */
import { dateTime } from '../../src/model/time';

describe('dateTime', () => {
  test.each([
    ['2026-11-25T08:00:00Z', '2026-11-25T08:00:00Z'],
    ['2026-11-25T08:00:00.5Z', '2026-11-25T08:00:00.5Z'],
    ['2026-11-25T08:00:00.123456Z', '2026-11-25T08:00:00.123456Z'],
    ['2024-02-29T23:59:59Z', '2024-02-29T23:59:59Z'],
    ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00Z'],
  ])('%s is already in NGSI-LD form: kept as given', (given, kept) => {
    expect(dateTime(given)).toBe(kept);
  });

  test.each([
    ['more than six fractional digits are cut to microseconds', '2026-11-25T08:00:00.123456789Z', '2026-11-25T08:00:00.123456Z'],
    ['a comma decimal becomes a point', '2026-11-25T08:00:00,25Z', '2026-11-25T08:00:00.25Z'],
    ['an offset becomes UTC', '2026-11-25T08:00:00+01:00', '2026-11-25T07:00:00Z'],
    ['an offset without a colon too', '2026-01-01T00:30:00+0100', '2025-12-31T23:30:00Z'],
    ['February 30 of any year is the day it names', '2026-02-30T00:00:00Z', '2026-03-02T00:00:00Z'],
    ['February 29 of a year not leap', '1900-02-29T12:00:00Z', '1900-03-01T12:00:00Z'],
    ['24:00 is the next midnight', '2026-01-01T24:00:00Z', '2026-01-02T00:00:00Z'],
  ])('%s', (_what, given, kept) => {
    expect(dateTime(given)).toBe(kept);
  });

  test.each([['2026-01-01T23:59:60Z'], ['2026-13-01T00:00:00Z'], ['2026-01-01T00:60:00Z'], ['2026-01-01'], ['yesterday'], [20260101], [null]])(
    '%s is no DateTime',
    (given) => {
      expect(dateTime(given)).toBeUndefined();
    },
  );
});
