/**
 * URL parameters shared by the entity operations: representation options
 * (4.5, 4.21), language (4.15) and pagination (5.5.9).
 */
import type { ApiRequest } from './apiRequest';

/** Where parameters are read from: the URL's query, or a Query body merged into it (whose members may be of any JSON type). */
export type ParamSource = Record<string, unknown>;
import { ActiveContext, badRequest, Format, invalidRequest, isUri, JoinMode, parseProjection, ProjectionTree, RenderOptions } from '@civitas/core';
import { GEO_JSON, ResponseType } from './mediaTypes';


/** One string parameter; repeated parameters are an error rather than silently merged. */
export function param(query: ParamSource, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalidRequest(`Parameter ${name} is given more than once or malformed`);
  return v;
}

/** 6.3.20: an unknown parameter is an InvalidRequest. */
export function allowOnly(req: ApiRequest, names: readonly string[]): void {
  for (const name of Object.keys(req.query)) {
    if (!names.includes(name)) throw invalidRequest(`Unknown URL parameter ${name}`);
  }
}

export function list(query: ParamSource, name: string, separator: RegExp = /,/): string[] | undefined {
  const v = param(query, name);
  if (v === undefined) return undefined;
  const items = v.split(separator).map((s) => s.trim());
  if (items.some((s) => s.length === 0)) throw badRequest(`Parameter ${name} has an empty member`);
  return items;
}

/**
 * pick / omit (4.21): the members of the entity itself. A name with braces
 * projects the linked entity (with join): picked, the relationship stays;
 * in omit, only the members in braces go.
 */
function projection(query: ParamSource, name: 'pick' | 'omit'): string[] | undefined {
  const text = param(query, name);
  if (text === undefined) return undefined;
  return [...parseProjection(text, name).entries()].filter(([, sub]) => name === 'pick' || sub === null).map(([member]) => member);
}

/** id (a list of URIs) and idPattern, as every query of entities or of registrations takes them. */
export function idSelection(query: ParamSource): { ids?: string[]; idPattern?: string } {
  const out: { ids?: string[]; idPattern?: string } = {};
  const ids = list(query, 'id');
  if (ids) {
    for (const id of ids) if (!isUri(id)) throw badRequest(`id ${JSON.stringify(id)} is not a URI`);
    out.ids = ids;
  }
  const idPattern = param(query, 'idPattern');
  if (idPattern !== undefined) out.idPattern = idPattern;
  return out;
}

/** The entity members pick names (linked-entity parts aside); undefined without pick. */
export function picked(query: ParamSource): string[] | undefined {
  return projection(query, 'pick');
}

/** How many levels of linked entities a projection reaches into (`a{b{c}}`: 2). */
function linkedDepth(tree: ProjectionTree): number {
  let depth = 0;
  for (const sub of tree.values()) if (sub) depth = Math.max(depth, 1 + linkedDepth(sub));
  return depth;
}

/**
 * The whole pick / omit projections, linked-entity parts included; a part
 * reaching into linked entities needs a join that goes that deep (4.21).
 */
export function projections(query: ParamSource): { pick?: ProjectionTree; omit?: ProjectionTree } {
  const pick = param(query, 'pick');
  const omit = param(query, 'omit');
  const out = {
    ...(pick !== undefined ? { pick: parseProjection(pick, 'pick') } : {}),
    ...(omit !== undefined ? { omit: parseProjection(omit, 'omit') } : {}),
  };
  const depth = Math.max(out.pick ? linkedDepth(out.pick) : 0, out.omit ? linkedDepth(out.omit) : 0);
  if (depth > 0) {
    const join = joinOption(query);
    if (!join) throw badRequest('pick / omit into linked entities ({...}) needs join=flat or join=inline');
    if (depth > join.level) throw badRequest(`pick / omit reach ${depth} levels of linked entities, deeper than joinLevel ${join.level}`);
  }
  return out;
}

/** `lang` (4.15): tags in order of preference, honouring q weights. */
function languages(query: ParamSource): string[] | undefined {
  const items = list(query, 'lang');
  if (!items) return undefined;
  return items
    .map((item, index) => {
      const [tag, ...params] = item.split(';').map((s) => s.trim());
      const q = params.find((p) => p.startsWith('q='));
      return { tag, q: q ? Number(q.slice(2)) : 1, index };
    })
    .sort((a, b) => b.q - a.q || a.index - b.index)
    .map((l) => l.tag);
}

export function flag(query: ParamSource, name: string): boolean {
  const v = param(query, name);
  if (v === undefined) return false;
  if (v !== 'true' && v !== 'false') throw badRequest(`Parameter ${name} must be true or false`);
  return v === 'true';
}

export function options(query: ParamSource): Set<string> {
  return new Set(list(query, 'options') ?? []);
}

const FORMATS: Record<string, Format> = { normalized: 'normalized', concise: 'concise', keyValues: 'keyValues', simplified: 'keyValues' };
const OPTION_WORDS = new Set(['normalized', 'concise', 'keyValues', 'simplified', 'sysAttrs', 'noOverwrite', 'replace', 'update']);

/** The temporal representations (4.5.8, 4.5.19), which temporal operations read themselves. */
const TEMPORAL_WORDS = new Set(['temporalValues', 'aggregatedValues']);

/**
 * The representation a GET asks for: `format` wins over the deprecated
 * `options` form. `temporal` also admits the temporal representations.
 */
export function renderOptions(query: ParamSource, ctx: ActiveContext, accept: ResponseType, temporal = false): RenderOptions & { geometryProperty?: string } {
  const opts = options(query);
  for (const o of opts) if (!OPTION_WORDS.has(o) && !(temporal && TEMPORAL_WORDS.has(o))) throw invalidRequest(`Unknown option ${o}`);
  let formatParam = param(query, 'format');
  if (temporal && formatParam !== undefined && TEMPORAL_WORDS.has(formatParam)) formatParam = undefined;
  let format: Format = 'normalized';
  if (formatParam !== undefined) {
    if (!FORMATS[formatParam]) throw invalidRequest(`Unknown format ${formatParam}`);
    format = FORMATS[formatParam];
  } else if (opts.has('keyValues') || opts.has('simplified')) {
    format = 'keyValues';
  } else if (opts.has('concise')) {
    format = 'concise';
  }
  const out: RenderOptions & { geometryProperty?: string } = { format, sysAttrs: opts.has('sysAttrs') };
  const attrs = list(query, 'attrs');
  const pick = projection(query, 'pick');
  const omit = projection(query, 'omit');
  // Checked here, before anything is read: projections into linked entities need a join deep enough.
  if (pick || omit) projections(query);
  if (pick && omit) throw badRequest('pick and omit cannot be used together');
  if (attrs && (pick || omit)) throw badRequest('attrs cannot be combined with pick or omit');
  const expand = (names: string[]) => new Set(names.filter((n) => n !== 'id' && n !== 'type').map((n) => ctx.expandTerm(n)));
  if (attrs || pick) {
    const keep = new Set([...(attrs ? expand(attrs) : []), ...(pick ? expand(pick) : [])]);
    out.keep = keep;
  }
  if (pick) {
    out.hideId = !pick.includes('id');
    out.hideType = !pick.includes('type');
  }
  if (omit) {
    out.drop = expand(omit);
    out.hideId = omit.includes('id');
    out.hideType = omit.includes('type');
  }
  const lang = languages(query);
  if (lang) out.lang = lang;
  const geometryProperty = param(query, 'geometryProperty');
  if (geometryProperty !== undefined) {
    if (accept !== GEO_JSON) throw badRequest('geometryProperty is only allowed with Accept: application/geo+json');
    out.geometryProperty = geometryProperty;
  }
  const datasetId = list(query, 'datasetId');
  if (datasetId) out.datasetIds = new Set(datasetId);
  return out;
}

/** `join` and `joinLevel` (4.5.23); undefined without a join (or with `join=@none`). */
export function joinOption(query: ParamSource): { mode: JoinMode; level: number } | undefined {
  const mode = param(query, 'join');
  const levelText = param(query, 'joinLevel');
  if (levelText !== undefined && !/^[1-9]\d*$/.test(levelText)) throw badRequest('joinLevel must be a whole number above 0');
  if (mode === undefined || mode === '@none') return undefined;
  if (mode !== 'flat' && mode !== 'inline') throw badRequest('join must be flat, inline or @none');
  return { mode, level: levelText === undefined ? 1 : Number(levelText) };
}

export interface Page {
  limit: number;
  offset: number;
  count: boolean;
}

export function page(query: ParamSource, defaultLimit: number, maxLimit: number): Page {
  const count = flag(query, 'count');
  const limit = nonNegative(query, 'limit') ?? defaultLimit;
  const offset = nonNegative(query, 'offset') ?? 0;
  if (limit === 0 && !count) throw badRequest('limit=0 is only allowed together with count=true');
  if (limit > maxLimit) throw badRequest(`limit must not exceed ${maxLimit}`);
  return { limit, offset, count };
}

function nonNegative(query: ParamSource, name: string): number | undefined {
  const v = param(query, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw badRequest(`${name} must be a non-negative integer`);
  return Number(v);
}
