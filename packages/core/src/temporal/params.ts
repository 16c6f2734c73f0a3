/**
 * Temporal query parameters (4.11, 5.7.3): the time window, lastN, and
 * aggregation (4.5.19) methods and period, each checked with a message that
 * says what is wrong.
 */
import { badRequest } from '../errors';
import { dateTime } from '../model/time';

export type TimeRelation = 'before' | 'after' | 'between';
/** deletedAt selects the instances that record a deletion (4.5.6), and only them. */
export type TimeProperty = 'observedAt' | 'createdAt' | 'modifiedAt' | 'deletedAt';

export interface TemporalWindow {
  timerel: TimeRelation;
  timeAt: string;
  endTimeAt?: string;
  timeproperty: TimeProperty;
}

const RELATIONS: TimeRelation[] = ['before', 'after', 'between'];
const PROPERTIES: TimeProperty[] = ['observedAt', 'createdAt', 'modifiedAt', 'deletedAt'];

export function parseTemporalWindow(input: { timerel?: string; timeAt?: string; endTimeAt?: string; timeproperty?: string }): TemporalWindow | undefined {
  // An empty parameter (`timeproperty=`) is an absent one.
  const given = (v: string | undefined) => (v === '' ? undefined : v);
  const [timerel, timeAt, endTimeAt, timeproperty] = [input.timerel, input.timeAt, input.endTimeAt, input.timeproperty].map(given);
  if (timeproperty !== undefined && !(PROPERTIES as string[]).includes(timeproperty)) {
    throw badRequest(`timeproperty must be one of ${PROPERTIES.join(', ')}`);
  }
  if (timerel === undefined) {
    if (timeAt !== undefined || endTimeAt !== undefined) throw badRequest('timeAt and endTimeAt need timerel');
    return undefined;
  }
  if (!(RELATIONS as string[]).includes(timerel)) throw badRequest(`timerel must be one of ${RELATIONS.join(', ')}, not ${JSON.stringify(timerel)}`);
  const start = dateTime(timeAt);
  if (start === undefined) throw badRequest('timerel needs timeAt, a date-time such as 2026-01-01T00:00:00Z');
  const window: TemporalWindow = { timerel: timerel as TimeRelation, timeAt: start, timeproperty: (timeproperty as TimeProperty) ?? 'observedAt' };
  if (timerel === 'between') {
    const end = dateTime(endTimeAt);
    if (end === undefined) throw badRequest('timerel=between needs endTimeAt, a date-time');
    window.endTimeAt = end;
    if (Date.parse(window.endTimeAt) <= Date.parse(window.timeAt)) throw badRequest('endTimeAt must be after timeAt');
  } else if (endTimeAt !== undefined) {
    throw badRequest('endTimeAt is only used with timerel=between');
  }
  return window;
}

export function parseLastN(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(text)) throw badRequest(`lastN must be a positive integer, not ${JSON.stringify(text)}`);
  return Number(text);
}

const UNIT_SECONDS: Record<string, number> = { W: 604_800, D: 86_400, H: 3_600, M: 60, S: 1 };

/**
 * An ISO 8601 duration (`PT1H`, `P1D`, `P1DT12H`, `P2W`) in seconds. Years
 * and months have no fixed length, so they are refused rather than guessed.
 * Zero only with `allowZero` (a zero aggrPeriodDuration means the whole window).
 */
export function parseDuration(text: string, allowZero = false): number {
  const m = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) {
    if (/^P(\d+Y|\d+M)/.test(text)) throw badRequest(`aggrPeriodDuration ${text}: years and months have no fixed length; use weeks, days, hours, minutes or seconds`);
    throw badRequest(`aggrPeriodDuration ${JSON.stringify(text)} is not an ISO 8601 duration such as PT1H or P1D`);
  }
  const [, w, d, h, min, s] = m;
  const seconds = [w && +w * UNIT_SECONDS.W, d && +d * UNIT_SECONDS.D, h && +h * UNIT_SECONDS.H, min && +min * UNIT_SECONDS.M, s && +s].reduce<number>((a, b) => a + (Number(b) || 0), 0);
  if (seconds < 0 || (seconds === 0 && !allowZero)) throw badRequest('aggrPeriodDuration must be longer than zero');
  return seconds;
}
