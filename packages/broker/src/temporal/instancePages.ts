/**
 * Temporal pagination (6.3.10): a response holds at most a configured number
 * of instances per attribute. When an attribute has more in the requested
 * window, its entity's instances are cut at one time for all its attributes,
 * and the response is answered with 206 and a Content-Range
 * (`date-time <range-start>-<range-end>/<size>`) saying which part of the
 * window it covers: forwards from the least recent instance, or backwards
 * from the most recent one with lastN.
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
  // Each group is in time order; within an entity, its groups over the cap decide where its instances stop.
  const backwards = lastN !== undefined;
  const cuts = new Map<string, string>();
  for (const g of groups.values()) {
    if (g.length <= cap) continue;
    const t = backwards ? g[g.length - cap].time : g[cap - 1].time;
    const previous = cuts.get(g[0].entityId);
    if (previous === undefined || (backwards ? t > previous : t < previous)) cuts.set(g[0].entityId, t);
  }
  if (cuts.size === 0) return { instances: read };
  const instances = read.filter((i) => {
    const cut = cuts.get(i.entityId);
    return cut === undefined || (backwards ? i.time >= cut : i.time <= cut);
  });
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
