/** GET /entities/{entityId} (5.7.1). */
import { EntityRenderer, notFound, RenderOptions, StoredEntity, toFeature } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { GEO_JSON } from '../http/mediaTypes';
import { ngsiHandler } from '../http/pipeline';
import { joinOption, projections, renderOptions } from '../http/params';
import { sendMade, sendRepresentation } from '../http/respond';
import { formKey, keepRepresentation, keptRepresentation } from './keptRepresentations';
import { entityIdParam, hasAnyType, requireTenant, typeSelector, withLinked } from './shared';
import { distributed } from '../distributed/loops';
import { forwarding, mergeEntities, registrationsFor, retrieveFromSources, sendWarnings } from '../distributed/contextSources';

export const RETRIEVE_PARAMS = ['attrs', 'pick', 'omit', 'options', 'format', 'lang', 'geometryProperty', 'datasetId', 'type', 'local', 'join', 'joinLevel', 'containedBy', 'entityMap', 'via'] as const;

export const retrieveEntityHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { geo: true, params: RETRIEVE_PARAMS }, async (ngsi, req, res) => {
    const id = entityIdParam(req);
    const options = renderOptions(req.query, ngsi.ctx, ngsi.accept);
    await requireTenant(deps, ngsi.tenant);
    const types = typeSelector(req, ngsi);
    let entity = await deps.store.getEntity(ngsi.tenant, id);
    if (distributed(req, deps)) {
      const sources = registrationsFor(await deps.store.registrations.liveRegistrations(ngsi.tenant), id, types ?? entity?.types, 'retrieveEntity');
      if (sources.length > 0) {
        const f = forwarding(deps, ngsi, req.headers);
        entity = mergeEntities(entity, await retrieveFromSources(f, id, sources, options.keep && [...options.keep]));
        sendWarnings(f, res);
      }
    }
    if (!entity || !hasAnyType(entity, types)) throw notFound(`Entity ${id} does not exist`);
    const join = joinOption(req.query);
    if (join) {
      // Flat is always an array (4.5.23.3); inline stays the one entity. Never kept: it shows other entities too.
      const renderer = new EntityRenderer(ngsi.ctx, options);
      const joined = await withLinked(deps, ngsi.tenant, join, [rendered(renderer, entity, options)], [entity], renderer, { ctx: ngsi.ctx, options, projections: projections(req.query) });
      // Flat lists the entity and what it links to; with nothing linked found, it is the entity alone, as without a join.
      sendRepresentation(req, res, ngsi, join.mode === 'flat' && joined.length > 1 ? joined : joined[0], { entityData: true });
      return;
    }
    const form = formKey(ngsi.accept, req.headers.prefer, req.url);
    const made = keptRepresentation(entity, ngsi.ctx, form);
    if (made) {
      sendMade(req, res, ngsi, made);
      return;
    }
    const body = rendered(new EntityRenderer(ngsi.ctx, options), entity, options);
    const geo = ngsi.accept === GEO_JSON;
    const payload = geo ? toFeature(body, entity, ngsi.ctx.expandTerm(options.geometryProperty ?? 'location')) : body;
    keepRepresentation(entity, ngsi.ctx, form, sendRepresentation(req, res, ngsi, payload, { entityData: !geo }));
  });

/** The entity as the request asks for it; none of the requested attributes is 404 (5.7.1). */
function rendered(renderer: EntityRenderer, entity: StoredEntity, options: RenderOptions): Record<string, unknown> {
  const out = renderer.entity(entity);
  if (projectsNothing(out, options)) throw notFound(`Entity ${entity.id} has none of the requested attributes`);
  return out;
}

/** 5.7.1: asking for attributes (attrs, pick) none of which exist, or omitting everything, finds nothing. */
function projectsNothing(rendered: Record<string, unknown>, options: RenderOptions): boolean {
  if (Object.keys(rendered).length === 0) return true;
  if (!options.keep || options.keep.size === 0) return false;
  return !Object.keys(rendered).some((k) => k !== 'id' && k !== 'type' && k !== 'scope' && k !== 'createdAt' && k !== 'modifiedAt');
}
