/** GET /entities (5.7.2): the basic selectors; the q and geo languages come with the query engine. */
import type { Request, Response } from 'express';
import {
  badRequest,
  EntityRenderer,
  isUri,
  compileFilters,
  isValidName,
  parseOrdering,
  parseTypeExpression,
  RenderOptions,
  toFeature,
} from '@civitas/core';
import type { EntityQuery } from '@civitas/store';
import type { BrokerDeps } from '../deps';
import { GEO_JSON } from '../http/mediaTypes';
import { NgsiRequest, ngsiHandler } from '../http/pipeline';
import { allowOnly, flag, joinOption, list, page, param, projections, renderOptions } from '../http/params';
import { paginationLinks, sendRepresentation } from '../http/respond';
import { RETRIEVE_PARAMS } from './retrieveEntity';
import { requireTenant, withLinked } from './shared';

const QUERY_PARAMS = [...RETRIEVE_PARAMS, 'id', 'idPattern', 'q', 'scopeQ', 'orderBy', 'orderFrom', 'orderGeometry', 'collation', 'georel', 'geometry', 'coordinates', 'geoproperty', 'limit', 'offset', 'count'];

export const queryEntitiesHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { geo: true }, async (ngsi, req, res) => {
    allowOnly(req, QUERY_PARAMS);
    const query = compileQuery(req.query, ngsi, deps);
    const options = renderOptions(req.query, ngsi.ctx, ngsi.accept);
    await answerQuery(deps, ngsi, req, res, query, options);
  });

/** Runs a query and sends the page: count header, pagination links, the representation asked for. */
export async function answerQuery(
  deps: BrokerDeps,
  ngsi: NgsiRequest,
  req: Request,
  res: Response,
  query: EntityQuery,
  options: RenderOptions & { geometryProperty?: string },
): Promise<void> {
  await requireTenant(deps, ngsi.tenant);
  // One row beyond the page tells whether a next page exists without a count.
  const result = await deps.store.queryEntities(ngsi.tenant, { ...query, limit: query.limit > 0 ? query.limit + 1 : 0 });
  const hasMore = result.entities.length > query.limit;
  if (hasMore) result.entities.length = query.limit;
  if (query.count) res.setHeader('NGSILD-Results-Count', String(result.count ?? 0));
  paginationLinks(req, res, ngsi.accept, query, hasMore);
  const renderer = new EntityRenderer(ngsi.ctx, options);
  const rendered = result.entities.map((e) => renderer.entity(e));
  if (ngsi.accept === GEO_JSON) {
    const geometryIri = ngsi.ctx.expandTerm(options.geometryProperty ?? 'location');
    const features = rendered.map((r, i) => toFeature(r, result.entities[i], geometryIri));
    sendRepresentation(req, res, ngsi, { type: 'FeatureCollection', features });
  } else {
    sendRepresentation(req, res, ngsi, await withLinked(deps, ngsi.tenant, joinOption(req.query), rendered, result.entities, renderer, { ctx: ngsi.ctx, options, projections: projections(req.query) }), { entityData: true });
  }
}

function compileQuery(q: Request['query'], ngsi: NgsiRequest, deps: BrokerDeps): EntityQuery {
  const query: EntityQuery = { ...selectors(q, ngsi), ...page(q, deps.config.defaultLimit, deps.config.maxLimit) };
  // 5.7.2.4 e): local scope (all of this broker's entities) is narrow enough by itself.
  if (!flag(q, 'local')) requireNarrowing(query);
  return query;
}

/**
 * 5.7.2.4: a query must name a type, attributes, a q, scopeQ or geo-query
 * (or ask for the local scope); ids alone are too wide a net, as the
 * conformance suite reads it.
 */
export function requireNarrowing(query: EntityQuery): void {
  if (!query.types && !query.anyType && !query.attrs && !query.q && !query.geo && !query.anyOf && !query.scopes) {
    throw badRequest('A query needs at least one of type, attrs, q, scopeQ or geoQ');
  }
}

/** The entity selectors shared by query and purge: id, idPattern, type and attrs. */
export function selectors(q: Request['query'], ngsi: NgsiRequest): Omit<EntityQuery, 'limit' | 'offset'> {
  const query: Omit<EntityQuery, 'limit' | 'offset'> = {};
  const ids = list(q, 'id');
  if (ids) {
    for (const id of ids) if (!isUri(id)) throw badRequest(`id ${JSON.stringify(id)} is not a URI`);
    query.ids = ids;
  }
  const idPattern = param(q, 'idPattern');
  if (idPattern !== undefined) query.idPattern = idPattern;
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
  Object.assign(query, compileFilters({ q: param(q, 'q'), scopeQ: param(q, 'scopeQ'), geoQ }, ngsi.ctx));
  const ordering = parseOrdering(
    { orderBy: param(q, 'orderBy'), orderFrom: param(q, 'orderFrom'), orderGeometry: param(q, 'orderGeometry'), collation: param(q, 'collation') },
    ngsi.ctx,
  );
  if (ordering) query.ordering = ordering;
  return query;
}
