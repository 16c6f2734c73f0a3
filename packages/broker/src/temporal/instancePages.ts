/**
 * Temporal pagination (6.3.10): a response holds at most a configured number
 * of instances per attribute. When an attribute has more in the requested
 * window, the response is cut at one time for every attribute, answered with
 * 206 and a Content-Range (`date-time <range-start>-<range-end>/<size>`)
 * saying which part of the window it covers: forwards from the least recent
 * instance, or backwards from the most recent one with lastN.
 */
import type { TemporalWindow } from '@civitas/core';
import type { HistoryInstance, InstanceTake } from '@civitas/store';

export interface InstancePage {
  instances: HistoryInstance[];
  /** Set when the response is partial. */
  contentRange?: string;
}

/** What to read to know whether the window holds more than `cap` instances of an attribute. */
export function instanceTake(cap: number, lastN: number | undefined): InstanceTake {
  if (lastN !== undefined) return { count: Math.min(lastN, cap + 1), newest: true };
  return { count: cap + 1, newest: false };
}

const at = (iso: string) => new Date(iso).toISOString();

/** Cuts what `instanceTake` read to `cap` per attribute, consistently in time across attributes. */
export function pageInstances(read: HistoryInstance[], cap: number, lastN: number | undefined, window: TemporalWindow | undefined): InstancePage {
  const groups = new Map<string, HistoryInstance[]>();
  for (const i of read) {
    const key = `${i.entityId}\u0000${i.attr}`;
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  }
  // Each group is in time order; a group over the cap decides where the response stops.
  const over = [...groups.values()].filter((g) => g.length > cap);
  if (over.length === 0) return { instances: read };
  const backwards = lastN !== undefined;
  const cuts = over.map((g) => (backwards ? g[g.length - cap].time : g[cap - 1].time));
  const cut = backwards ? cuts.reduce((a, b) => (b > a ? b : a)) : cuts.reduce((a, b) => (b < a ? b : a));
  const instances = read.filter((i) => (backwards ? i.time >= cut : i.time <= cut));
  const times = instances.map((i) => i.time).sort();
  const [least, most] = [times[0], times[times.length - 1]];
  let start: string;
  let end: string;
  if (backwards) {
    start = window?.timerel === 'before' ? window.timeAt : window?.timerel === 'between' ? window.endTimeAt! : most;
    end = least;
  } else {
    start = window && window.timerel !== 'before' ? window.timeAt : least;
    end = most;
  }
  return { instances, contentRange: `date-time ${at(start)}-${at(end)}/${backwards ? lastN : '*'}` };
}
