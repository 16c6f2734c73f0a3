/**
 * scopeQ on the temporal query (5.7.4.4 with 4.18): an entity matches when a
 * scope valid at some time within the window matches, and only the
 * instances of the times such a scope was valid are shown (C.5.16). A scope
 * is valid from when it was set until it was replaced or removed.
 */
import { SCOPE, scopeMatches, TemporalWindow } from '@civitas/core';
import type { HistoryInstance, HistorySelection } from '@civitas/store';
import type { BrokerDeps } from '../deps';

/** When a matching scope was valid: from `from` (inclusive) to `to` (exclusive), in epoch milliseconds. */
export interface ValidInterval {
  from: number;
  to: number;
  /** The scope instance that set it, shown with the entity even when set before the window (C.5.16). */
  setBy: HistoryInstance;
}

/** Per entity, the intervals within the window when a scope matching `scopes` (OR of ANDs of patterns) was valid. */
export async function matchingScopeIntervals(
  deps: BrokerDeps,
  tenant: string,
  selection: HistorySelection,
  scopes: string[][],
): Promise<Map<string, ValidInterval[]>> {
  const read = await deps.store.historyInstances(tenant, { ...selection, attrs: [SCOPE], time: undefined, timeProperty: undefined, datasetIds: undefined, withDeletions: true });
  const [start, end] = windowBounds(selection.time);
  const out = new Map<string, ValidInterval[]>();
  const byEntity = new Map<string, HistoryInstance[]>();
  for (const i of read) byEntity.set(i.entityId, [...(byEntity.get(i.entityId) ?? []), i]);
  for (const [entityId, changes] of byEntity) {
    const intervals: ValidInterval[] = [];
    changes.forEach((change, k) => {
      const from = Date.parse(change.time);
      const to = k + 1 < changes.length ? Date.parse(changes[k + 1].time) : Infinity;
      const value = change.instance.deletedAt ? [] : (change.instance.value as string[]);
      if (from < end && to > start && scopeMatches(value, scopes)) intervals.push({ from, to, setBy: change });
    });
    if (intervals.length > 0) out.set(entityId, intervals);
  }
  return out;
}

/**
 * The instances to show under the intervals: of the attributes, those of the
 * times a matching scope was valid; of the scope, those that set them.
 */
export function boundedByScope(instances: HistoryInstance[], intervals: Map<string, ValidInterval[]>): HistoryInstance[] {
  const setters = [...intervals.values()].flat().map((v) => v.setBy);
  return [...instances.filter((i) => i.attr !== SCOPE && withinIntervals(i, intervals.get(i.entityId))), ...setters];
}

function withinIntervals(instance: HistoryInstance, intervals: ValidInterval[] | undefined): boolean {
  if (!intervals) return false;
  const t = Date.parse(instance.time);
  return intervals.some((v) => t >= v.from && t < v.to);
}

function windowBounds(time: TemporalWindow | undefined): [number, number] {
  if (!time) return [-Infinity, Infinity];
  const at = Date.parse(time.timeAt);
  if (time.timerel === 'before') return [-Infinity, at];
  if (time.timerel === 'after') return [at, Infinity];
  return [at, Date.parse(time.endTimeAt!)];
}
