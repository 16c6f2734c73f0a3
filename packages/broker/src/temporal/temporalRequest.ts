/**
 * What GET /temporal/entities and /temporal/entities/{id} share: the
 * parameters (window, lastN, representation, aggregation) and the reading
 * and rendering of the history of a page of entities.
 */
import {
  badRequest,
  CompiledFilters,
  compileFilters,
  EntityRenderer,
  parseDuration,
  parseLastN,
  parseTemporalWindow,
  renderAggregatedEntity,
  RenderOptions,
  renderTemporalEntity,
  TemporalAttribute,
  TimeProperty,
} from '@civitas/core';
import { AGGREGATION_METHODS, AggregationMethod, HistorySelection } from '@civitas/store';
import type { BrokerDeps } from '../deps';
import type { NgsiRequest } from '../http/pipeline';
import type { ServerResponse } from 'node:http';
import type { ApiRequest } from '../http/apiRequest';
import { list, options, param, renderOptions } from '../http/params';
import { sendRepresentation } from '../http/respond';
import { instanceTake, pageInstances } from './instancePages';
import { boundedByScope, matchingScopeIntervals, ValidInterval } from './scopeValidity';

export const TEMPORAL_PARAMS = [
  'timerel', 'timeAt', 'endTimeAt', 'timeproperty', 'lastN', 'attrs', 'pick', 'omit', 'datasetId', 'options', 'format', 'lang',
  'aggrMethods', 'aggrPeriodDuration', 'local', 'q', 'scopeQ', 'georel', 'geometry', 'coordinates', 'geoproperty', 'expandValues', 'jsonKeys',
];

export interface TemporalRequest {
  selection: HistorySelection;
  /** q and the geo-query select entities by their instances in the window, scopeQ by their current scope. */
  filters: CompiledFilters;
  /** Which attributes and instances to show (attrs / pick / omit, datasetId); the renderer hides id and type. */
  shown: Pick<RenderOptions, 'keep' | 'drop' | 'datasetIds'>;
  lastN?: number;
  representation: 'normalized' | 'temporalValues' | 'aggregatedValues';
  methods: AggregationMethod[];
  periodSeconds?: number;
  renderer: EntityRenderer;
  /** With scopeQ: per entity, when a matching scope was valid; only instances of those times are shown. */
  scopeIntervals?: Map<string, ValidInterval[]>;
}

/** `q`: the URL parameters (or, for the POST form, the body translated to them). */
export function temporalRequest(q: Record<string, unknown>, ngsi: NgsiRequest): TemporalRequest {
  const time = parseTemporalWindow({ timerel: param(q, 'timerel'), timeAt: param(q, 'timeAt'), endTimeAt: param(q, 'endTimeAt'), timeproperty: param(q, 'timeproperty') });
  const selection: HistorySelection = {};
  if (time) selection.time = time;
  else if (param(q, 'timeproperty')) selection.timeProperty = param(q, 'timeproperty') as TimeProperty;
  const attrs = list(q, 'attrs');
  if (attrs) selection.attrs = attrs.map((a) => ngsi.ctx.expandTerm(a));
  const datasetIds = list(q, 'datasetId');
  if (datasetIds) selection.datasetIds = datasetIds;
  // format wins over the older options form (4.5.19, 6.3.7).
  const format = param(q, 'format');
  const opts = options(q);
  const representation =
    format === 'temporalValues' || format === 'aggregatedValues'
      ? format
      : opts.has('aggregatedValues')
        ? 'aggregatedValues'
        : opts.has('temporalValues')
          ? 'temporalValues'
          : 'normalized';
  const render = renderOptions(q, ngsi.ctx, ngsi.accept, true);
  const geoQ = { georel: param(q, 'georel'), geometry: param(q, 'geometry'), coordinates: param(q, 'coordinates'), geoproperty: param(q, 'geoproperty') };
  const out: TemporalRequest = {
    selection,
    filters: compileFilters({ q: param(q, 'q'), scopeQ: param(q, 'scopeQ'), geoQ, expandValues: list(q, 'expandValues'), jsonKeys: list(q, 'jsonKeys') }, ngsi.ctx),
    shown: { keep: render.keep, drop: render.drop, datasetIds: render.datasetIds },
    lastN: parseLastN(param(q, 'lastN')),
    representation,
    methods: [],
    renderer: new EntityRenderer(ngsi.ctx, { ...render, format: 'normalized' }),
  };
  // Aggregation parameters are checked whenever given, so that a typo is not silently ignored.
  const methods = list(q, 'aggrMethods');
  for (const m of methods ?? []) {
    if (!(AGGREGATION_METHODS as readonly string[]).includes(m)) throw badRequest(`aggrMethods: ${JSON.stringify(m)} is not one of ${AGGREGATION_METHODS.join(', ')}`);
  }
  const period = param(q, 'aggrPeriodDuration');
  // A zero duration (P0D, PT0S) means one period over the whole window.
  const periodSeconds = period === undefined ? undefined : parseDuration(period, true) || undefined;
  if (representation === 'aggregatedValues') {
    if (!methods) throw badRequest('aggregatedValues needs aggrMethods');
    out.methods = methods as AggregationMethod[];
    out.periodSeconds = periodSeconds;
  }
  return out;
}

/**
 * Narrows the selection to the entities that pass q, the geo-query and
 * scopeQ; false when none does. q and the geo-query are judged on the
 * instances the temporal query keeps (its types, ids and time window: any
 * instance of an attribute may satisfy a term, 5.7.4.4); scopeQ on the
 * scopes valid within the window (see scopeValidity).
 */
export async function applyEntityFilters(deps: BrokerDeps, tenant: string, t: TemporalRequest): Promise<boolean> {
  const { q, scopes, geo } = t.filters;
  if (!q && !scopes && !geo) return true;
  const cap = deps.config.maxLimit * 10;
  // Never a silently partial answer: a filter that selects too many entities is refused.
  const tooMany = (count: number) => badRequest(`The temporal query selects ${count} entities by q, scopeQ or geo-query; narrow it to ${cap} at most`);
  if (q || geo) {
    const ids = await deps.store.historyMatchingEntities(tenant, t.selection, { q, geo }, cap);
    if (ids.length > cap) throw tooMany(ids.length);
    t.selection.ids = ids;
    if (ids.length === 0) return false;
  }
  if (scopes) {
    const intervals = await matchingScopeIntervals(deps, tenant, t.selection, scopes);
    if (intervals.size > cap) throw tooMany(intervals.size);
    t.selection.ids = [...intervals.keys()].filter((id) => !t.selection.ids || t.selection.ids.includes(id));
    t.scopeIntervals = intervals;
  }
  return t.selection.ids!.length > 0;
}

export interface RenderedHistory {
  entities: Array<Record<string, unknown>>;
  /** Set when the instances were cut (6.3.10): answer 206 with this Content-Range. */
  contentRange?: string;
}

/** The temporal representation of each entity, in the order given. */
export async function renderHistory(deps: BrokerDeps, tenant: string, t: TemporalRequest, entities: Array<{ id: string; types: string[] }>): Promise<RenderedHistory> {
  if (entities.length === 0) return { entities: [] };
  const selection = { ...t.selection, ids: entities.map((e) => e.id) };
  const { keep, drop, datasetIds } = t.shown;
  const shown = (attr: string) => (!keep || keep.has(attr)) && !drop?.has(attr);
  if (t.representation === 'aggregatedValues') {
    const [rows, latest] = await Promise.all([
      deps.store.historyAggregates(tenant, selection, t.methods, t.periodSeconds),
      deps.store.historyInstances(tenant, selection, { count: 1, newest: true }),
    ]);
    const attrTypes = new Map(latest.map((i) => [i.attr, i.instance.type]));
    return { entities: entities.map((e) => renderAggregatedEntity(e.id, e.types, rows.filter((r) => r.entityId === e.id && shown(r.attr)), attrTypes, t.renderer)) };
  }
  const cap = deps.config.temporalMaxInstances;
  const read = await deps.store.historyInstances(tenant, selection, instanceTake(cap, t.lastN));
  const paged = pageInstances(read, cap, t.lastN, t.selection.time);
  const { contentRange } = paged;
  const instances = t.scopeIntervals ? boundedByScope(paged.instances, t.scopeIntervals) : paged.instances;
  const rendered = entities.map((e) => {
    const byAttr = new Map<string, TemporalAttribute>();
    // An attribute whose instances the cut all left out is still named, with none (6.3.10): the client sees there is more.
    if (contentRange && t.representation === 'normalized') {
      for (const i of read) if (i.entityId === e.id && shown(i.attr) && !byAttr.has(i.attr)) byAttr.set(i.attr, { attr: i.attr, instances: [] });
    }
    for (const i of instances) {
      if (i.entityId !== e.id || !shown(i.attr)) continue;
      if (datasetIds && !datasetIds.has(i.instance.datasetId ?? '@none')) continue;
      const a = byAttr.get(i.attr) ?? { attr: i.attr, instances: [] };
      a.instances.push({ instanceId: i.instanceId, instance: i.instance });
      byAttr.set(i.attr, a);
    }
    return renderTemporalEntity(e.id, e.types, [...byAttr.values()], t.renderer, t.representation === 'temporalValues', t.selection.time?.timeproperty ?? t.selection.timeProperty ?? 'observedAt');
  });
  return { entities: rendered, contentRange };
}

/** 200 with the entities, or 206 with the Content-Range of a cut response. */
export function sendHistory(req: ApiRequest, res: ServerResponse, ngsi: NgsiRequest, history: RenderedHistory, body: unknown): void {
  if (history.contentRange) res.setHeader('Content-Range', history.contentRange);
  sendRepresentation(req, res, ngsi, body, { status: history.contentRange ? 206 : 200 });
}
