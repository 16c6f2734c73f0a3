/** GET /entities (5.7.2): the basic selectors; the q and geo languages come with the query engine. */
import type { ServerResponse } from 'node:http';
import type { ApiRequest } from '../http/apiRequest';
import {
  badRequest,
  EntityRenderer,
  compileFilters,
  isValidName,
  parseOrdering,
  parseQ,
  qAttributes,
  qLinkDepth,
  parseTypeExpression,
  Registration,
  RenderOptions,
  StoredEntity,
  toFeature,
} from '@civitas/core';
import type { EntityQuery } from '@civitas/store';
import type { BrokerDeps } from '../deps';
import { GEO_JSON } from '../http/mediaTypes';
import { NgsiRequest, ngsiHandler } from '../http/pipeline';
import { ParamSource, flag, idSelection, joinOption, list, page, param, picked, projections, renderOptions } from '../http/params';
import { paginationLinks, sendRepresentation } from '../http/respond';
import { RETRIEVE_PARAMS } from './retrieveEntity';
import { requireTenant, withLinked } from './shared';
import { distributed } from '../distributed/loops';
import { forwarding, mergeEntities, queryFromSources, registrationsForQuery, sendWarnings } from '../distributed/contextSources';

const QUERY_PARAMS = [...RETRIEVE_PARAMS, 'id', 'idPattern', 'q', 'scopeQ', 'orderBy', 'orderFrom', 'orderGeometry', 'collation', 'expandValues', 'jsonKeys', 'csf', 'georel', 'geometry', 'coordinates', 'geoproperty', 'limit', 'offset', 'count'];

export const queryEntitiesHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { geo: true, params: QUERY_PARAMS }, async (ngsi, req, res) => {
    const query = compileQuery(req.query, ngsi, deps);
    const options = renderOptions(req.query, ngsi.ctx, ngsi.accept);
    await answerQuery(deps, ngsi, req, res, query, options, req.query, true);
  });

/**
 * One page of a query: from the store, or with registered Context Sources
 * (4.3.6) merged in by entity id. Their answers and the store's first
 * offset + limit entities, in id order, make the page; an entity found in
 * several places is merged as a retrieval would (mergeEntities). Such a
 * query cannot be ordered (4.23.1).
 */
async function queryPage(
  deps: BrokerDeps,
  ngsi: NgsiRequest,
  req: ApiRequest,
  res: ServerResponse,
  query: EntityQuery,
  forwarded: ParamSource | undefined,
): Promise<{ entities: StoredEntity[]; count?: number; hasMore: boolean }> {
  const sources =
    forwarded && distributed(req, deps)
      ? registrationsForQuery(await candidateRegistrations(deps, ngsi, param(forwarded, 'csf')), { types: query.types, ids: query.ids, idPattern: query.idPattern, attrs: query.attrs })
      : [];
  if (sources.length === 0) {
    // One row beyond the page tells whether a next page exists without a count.
    const result = await deps.store.queryEntities(ngsi.tenant, { ...query, limit: query.limit > 0 ? query.limit + 1 : 0 });
    const hasMore = result.entities.length > query.limit;
    if (hasMore) result.entities.length = query.limit;
    return { ...result, hasMore };
  }
  // 4.23.1: sort ordering is never applied to distributed operations.
  if (query.ordering) throw badRequest('orderBy cannot be used on a query that Context Sources answer too; add local=true to order local entities');
  const window = Math.min(query.offset + query.limit + 1, deps.config.maxLimit);
  const f = forwarding(deps, ngsi, req.headers);
  const [local, remote] = await Promise.all([
    deps.store.queryEntities(ngsi.tenant, { ...query, offset: 0, limit: window }),
    queryFromSources(f, forwarded!, sources, query.attrs, window),
  ]);
  sendWarnings(f, res);
  const byId = new Map(local.entities.map((e) => [e.id, { local: e as StoredEntity | undefined, remote: [] as typeof remote }]));
  for (const answer of remote) {
    const slot = byId.get(answer.entity.id) ?? { local: undefined, remote: [] };
    slot.remote.push(answer);
    byId.set(answer.entity.id, slot);
  }
  const merged = [...byId.keys()].sort().map((id) => mergeEntities(byId.get(id)!.local, byId.get(id)!.remote)!);
  const localIds = new Set(local.entities.map((e) => e.id));
  const count = (local.count ?? 0) + new Set(remote.map((a) => a.entity.id).filter((id) => !localIds.has(id))).size;
  return { entities: merged.slice(query.offset, query.offset + query.limit), count, hasMore: merged.length > query.offset + query.limit };
}

/** The registrations a query may go to: all live ones, or those whose properties pass its csf (5.7.2.4). */
async function candidateRegistrations(deps: BrokerDeps, ngsi: NgsiRequest, csf: string | undefined): Promise<Registration[]> {
  if (csf === undefined) return deps.store.registrations.liveRegistrations(ngsi.tenant);
  return deps.store.registrations.queryRegistrations(ngsi.tenant, { csf: { expression: parseQ(csf), expand: (name) => ngsi.ctx.expandTerm(name) } });
}

/** Runs a query and sends the page: count header, pagination links, the representation asked for. */
export async function answerQuery(
  deps: BrokerDeps,
  ngsi: NgsiRequest,
  req: ApiRequest,
  res: ServerResponse,
  query: EntityQuery,
  options: RenderOptions & { geometryProperty?: string },
  /** Where join, joinLevel and the projections come from: the URL, or a ParamSource body merged into it. */
  params: ParamSource = req.query,
  /** Whether Context Sources may be asked too (the URL form, whose parameters they are asked with). */
  forward = false,
): Promise<void> {
  const join = joinOption(params);
  const depth = query.q ? qLinkDepth(query.q.expression) : 0;
  if (depth > 0 && (!join || depth > join.level)) {
    throw badRequest(`q follows Relationships ${depth} level(s) deep: that needs join=flat or inline with joinLevel of at least ${depth}`);
  }
  // A pick of attributes alone selects the entities that have one of them: an entity with none would answer as `{}`.
  const pick = picked(params);
  if (pick && !query.attrs && !pick.some((n) => ENTITY_MEMBERS.has(n))) query = { ...query, attrs: pick.map((n) => ngsi.ctx.expandTerm(n)) };
  await requireTenant(deps, ngsi.tenant);
  const result = await queryPage(deps, ngsi, req, res, query, forward ? params : undefined);
  if (query.count) res.setHeader('NGSILD-Results-Count', String(result.count ?? 0));
  paginationLinks(req, res, ngsi.accept, query, result.hasMore);
  const renderer = new EntityRenderer(ngsi.ctx, options);
  const rendered = result.entities.map((e) => renderer.entity(e));
  if (ngsi.accept === GEO_JSON) {
    const geometryIri = ngsi.ctx.expandTerm(options.geometryProperty ?? 'location');
    const features = rendered.map((r, i) => toFeature(r, result.entities[i], geometryIri));
    sendRepresentation(req, res, ngsi, { type: 'FeatureCollection', features });
  } else {
    sendRepresentation(req, res, ngsi, await withLinked(deps, ngsi.tenant, join, rendered, result.entities, renderer, { ctx: ngsi.ctx, options, projections: projections(params) }), { entityData: true });
  }
}

function compileQuery(q: ParamSource, ngsi: NgsiRequest, deps: BrokerDeps): EntityQuery {
  const query: EntityQuery = { ...selectors(q, ngsi), ...page(q, deps.config.defaultLimit, deps.config.maxLimit) };
  const local = param(q, 'local');
  // 4.17: type=* asks for this broker's own entities; it cannot also ask for the distributed ones.
  if (query.anyType && local === 'false') throw badRequest('type=* cannot be combined with local=false');
  checkContextSourceFilter(param(q, 'csf'));
  // 5.7.2.4 e): local scope (all of this broker's entities) is narrow enough by itself.
  if (!flag(q, 'local')) requireNarrowing(query, ngsi.ctx);
  return query;
}

/**
 * csf (4.9 syntax) selects the context source registrations a query is
 * forwarded to; this broker holds no registrations, so a valid one changes
 * nothing, but one that does not parse is refused (5.7.2.4).
 */
export function checkContextSourceFilter(csf: string | undefined): void {
  if (csf !== undefined) parseQ(csf);
}

const ENTITY_MEMBERS = new Set(['id', 'type', 'scope']);
const SYSTEM_ATTRIBUTES = new Set(['createdAt', 'modifiedAt', 'deletedAt', 'observedAt', 'expiresAt']);

/** Whether attrs or q names some attribute of the entities' own rather than only system members (5.7.2.4 b, c). */
export function namesAttributes(query: Pick<EntityQuery, 'attrs' | 'q'>, ctx: NgsiRequest['ctx']): boolean {
  const named = [...(query.attrs ?? []), ...(query.q ? qAttributes(query.q.expression).map((a) => ctx.expandTerm(a)) : [])];
  return named.some((iri) => !SYSTEM_ATTRIBUTES.has(ctx.compactIri(iri)));
}

/**
 * 5.7.2.4: a query must name a type, a non-system attribute (attrs or q),
 * a scopeQ or a geo-query (or ask for the local scope); ids alone are too
 * wide a net, as the conformance suite reads it.
 */
export function requireNarrowing(query: EntityQuery, ctx: NgsiRequest['ctx']): void {
  if (!query.types && !query.anyType && !namesAttributes(query, ctx) && !query.geo && !query.anyOf && !query.scopes) {
    throw badRequest('A query needs at least one of type, attrs or q on a non-system attribute, scopeQ or geoQ');
  }
}

/** The entity selectors shared by query and purge: id, idPattern, type and attrs. */
export function selectors(q: ParamSource, ngsi: NgsiRequest): Omit<EntityQuery, 'limit' | 'offset'> {
  const query: Omit<EntityQuery, 'limit' | 'offset'> = idSelection(q);
  const type = param(q, 'type');
  if (type === '*') query.anyType = true;
  else if (type !== undefined) query.types = parseTypeExpression(type).map((all) => all.map((t) => ngsi.ctx.expandTerm(t)));
  const attrs = list(q, 'attrs');
  if (attrs) {
    query.attrs = attrs.map((a) => {
      const iri = ngsi.ctx.expandTerm(a);
      // id and type are entity members, not attributes.
      if (!isValidName(a) || iri.startsWith('@')) throw badRequest(`attrs: ${JSON.stringify(a)} is not an attribute name`);
      return iri;
    });
  }
  const geoQ = { georel: param(q, 'georel'), geometry: param(q, 'geometry'), coordinates: param(q, 'coordinates'), geoproperty: param(q, 'geoproperty') };
  Object.assign(
    query,
    compileFilters({ q: param(q, 'q'), scopeQ: param(q, 'scopeQ'), geoQ, expandValues: list(q, 'expandValues'), jsonKeys: list(q, 'jsonKeys') }, ngsi.ctx),
  );
  const ordering = parseOrdering(
    { orderBy: param(q, 'orderBy'), orderFrom: param(q, 'orderFrom'), orderGeometry: param(q, 'orderGeometry'), collation: param(q, 'collation') },
    ngsi.ctx,
  );
  if (ordering) query.ordering = ordering;
  return query;
}
