/** Pieces every entity operation uses: the id from the URL, and a read-modify-write of one entity. */
import type { ApiRequest } from '../http/apiRequest';
import {
  ActiveContext,
  badRequest,
  EntityRenderer,
  isUri,
  isValidName,
  joinRendered,
  keepsAttribute,
  JoinMode,
  LinkedRenderers,
  loadLinked,
  NgsiError,
  notFound,
  projectionAt,
  ProjectionTree,
  RenderOptions,
  StoredEntity,
  unprojected,
} from '@civitas/core';
import type { BrokerDeps } from '../deps';
import type { NgsiRequest } from '../http/pipeline';
import { list } from '../http/params';

export function entityIdParam(req: ApiRequest): string {
  const id = req.params.entityId;
  if (!isUri(id)) throw badRequest(`Entity id ${JSON.stringify(id)} is not a URI`);
  return id;
}

/**
 * Applies `change` to the stored entity in one transaction; 404 when it does
 * not exist, or when `types` (the `type` selector, 1.9) names none of its types.
 */
export async function changeEntity<T>(
  deps: BrokerDeps,
  ngsi: NgsiRequest,
  id: string,
  change: (current: StoredEntity) => { entity: StoredEntity; result: T },
  types?: string[],
): Promise<T> {
  const outcome = await deps.store.mutate(ngsi.tenant, [id], (current) => {
    const entity = current.get(id);
    if (!entity || !hasAnyType(entity, types)) throw notFound(`Entity ${id} does not exist`);
    const { entity: next, result } = change(entity);
    return { upserts: next === entity ? [] : [next], result };
  });
  return outcome.result;
}

/**
 * Linked entity retrieval (4.5.23) for a response: the rendered entities
 * with what their Relationships point to, flat or inline.
 */
export async function withLinked(
  deps: BrokerDeps,
  tenant: string,
  join: { mode: JoinMode; level: number } | undefined,
  rendered: Array<Record<string, unknown>>,
  entities: StoredEntity[],
  renderer: EntityRenderer,
  view: { ctx: ActiveContext; options: RenderOptions; projections: { pick?: ProjectionTree; omit?: ProjectionTree } },
): Promise<Array<Record<string, unknown>>> {
  if (!join) return rendered;
  const via = new Map<string, string[]>();
  const load = async (ids: string[]) => (await deps.store.queryEntities(tenant, { ids, limit: ids.length, offset: 0 })).entities;
  const linked = await loadLinked(entities, join.level, load, via, projectedRelationships(view));
  return joinRendered(join.mode, rendered, entities, linked, renderer, join.level, { renderers: linkedRenderers(view), via });
}

/**
 * Only the Relationships a projection keeps, at each level, are followed: a
 * flat join lists no entity that nothing in the answer points at.
 */
function projectedRelationships({ ctx, options, projections }: Parameters<typeof withLinked>[6]): (path: string[], iri: string) => boolean {
  return (path, iri) => {
    if (path.length === 0) return keepsAttribute(options, iri);
    const names = path.map((p) => ctx.compactIri(p));
    const name = ctx.compactIri(iri);
    const pick = projections.pick && projectionAt(projections.pick, names);
    const omit = projections.omit && projectionAt(projections.omit, names);
    return (!pick || pick.has(name)) && !(omit && omit.get(name) === null);
  };
}

/**
 * Renderers for linked entities: the representation of the request, with
 * the part of pick / omit in braces behind the relationship path (4.21);
 * without such a part, a linked entity is shown whole.
 */
function linkedRenderers({ ctx, options, projections }: Parameters<typeof withLinked>[6]): LinkedRenderers {
  const base = unprojected(options);
  return (path) => {
    const pick = projections.pick && projectionAt(projections.pick, path);
    const omit = projections.omit && projectionAt(projections.omit, path);
    // Omitting `rel{member}` omits the member of the linked entity, not the Relationship.
    const expand = (tree: ProjectionTree, leavesOnly: boolean) =>
      new Set([...tree.entries()].filter(([n, sub]) => n !== 'id' && n !== 'type' && (!leavesOnly || sub === null)).map(([n]) => ctx.expandTerm(n)));
    if (pick) return new EntityRenderer(ctx, { ...base, keep: expand(pick, false), hideId: !pick.has('id'), hideType: !pick.has('type') });
    if (omit) return new EntityRenderer(ctx, { ...base, drop: expand(omit, true), hideId: omit.get('id') === null, hideType: omit.get('type') === null });
    return new EntityRenderer(ctx, base);
  };
}

export function tenantNotFound(tenant: string): NgsiError {
  return new NgsiError('NonexistentTenant', `Tenant ${tenant} does not exist`);
}

/** 5.5.10: every operation but a create answers NonexistentTenant for a tenant nobody created. */
export async function requireTenant(deps: BrokerDeps, tenant: string): Promise<void> {
  if (!(await deps.store.tenantExists(tenant))) throw tenantNotFound(tenant);
}

export function attrIdParam(req: ApiRequest): string {
  const name = req.params.attrId;
  if (!isValidName(name)) throw badRequest(`Invalid attribute name ${JSON.stringify(name)}`);
  return name;
}

/** Whether the entity passes the `type` selector (absent: every entity does). */
export function hasAnyType(entity: StoredEntity, types: string[] | undefined): boolean {
  return !types || types.some((t) => entity.types.includes(t));
}

/** The `type` selector of the single-entity operations, expanded. */
export function typeSelector(req: ApiRequest, ngsi: NgsiRequest): string[] | undefined {
  return list(req.query, 'type')?.map((t) => ngsi.ctx.expandTerm(t));
}

/** An entity body sent to /entities/{id}/...: an id in it must be that id. */
export function checkBodyId(fragmentId: string | undefined, id: string): void {
  if (fragmentId !== undefined && fragmentId !== id) throw badRequest('The id in the body differs from the id in the URL');
}

/** `scope` is an entity member, not an attribute (4.18). */
export const SCOPE_NAME = 'scope';
