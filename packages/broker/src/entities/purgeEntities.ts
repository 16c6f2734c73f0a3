/**
 * DELETE /entities (5.6.21, V1.9.1): deletes the matching entities, or with
 * `drop` / `keep` removes attributes from them. A purge must name what it
 * targets (type, a non-system attribute in attrs or q) or say `local=true`; an id or
 * idPattern alone is too wide a net for a bulk delete.
 */
import { badRequest, nowIso, qLinkDepth, StoredEntity } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { flag, list } from '../http/params';
import { sendNoContent } from '../http/respond';
import { namesAttributes, selectors } from './queryEntities';
import { requireTenant } from './shared';

/** Entities handled per transaction, so that a large purge neither locks everything at once nor loads it all. */
const CHUNK = 500;

export const purgeEntitiesHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { produces: false, params: ['type', 'id', 'idPattern', 'attrs', 'q', 'scopeQ', 'georel', 'geometry', 'coordinates', 'geoproperty', 'local', 'keep', 'drop'] }, async (ngsi, req, res) => {
    const keep = list(req.query, 'keep');
    const drop = list(req.query, 'drop');
    if (keep && drop) throw badRequest('keep and drop cannot be used together');
    const selection = selectors(req.query, ngsi);
    // 5.6.21.4: a purge never follows Relationships into linked entities.
    if (selection.q && qLinkDepth(selection.q.expression) > 0) throw badRequest('A purge cannot filter on linked entities (rel{attr})');
    const meaningful = req.query.type !== undefined || namesAttributes(selection, ngsi.ctx) || flag(req.query, 'local');
    if (!meaningful) throw badRequest('A purge needs type, a non-system attribute in attrs, q or local=true');
    await requireTenant(deps, ngsi.tenant);

    const keepIris = keep && new Set(keep.map((a) => ngsi.ctx.expandTerm(a)));
    const dropIris = drop && new Set(drop.map((a) => ngsi.ctx.expandTerm(a)));
    const trim = (e: StoredEntity, now: string): StoredEntity => ({
      ...e,
      modifiedAt: now,
      attrs: Object.fromEntries(Object.entries(e.attrs).filter(([iri]) => (keepIris ? keepIris.has(iri) : !dropIris!.has(iri)))),
    });
    // The ids first, then the writes: trimming attributes may move entities out of the selection being paged.
    const ids: string[] = [];
    for (let offset = 0; ; offset += CHUNK) {
      const { entities } = await deps.store.queryEntities(ngsi.tenant, { ...selection, limit: CHUNK, offset });
      ids.push(...entities.map((e) => e.id));
      if (entities.length < CHUNK) break;
    }
    for (let i = 0; i < ids.length; i += CHUNK) {
      await deps.store.mutate(ngsi.tenant, ids.slice(i, i + CHUNK), (current) => {
        const now = nowIso();
        if (!keepIris && !dropIris) return { deletes: [...current.keys()], result: undefined };
        return { upserts: [...current.values()].map((e) => trim(e, now)), result: undefined };
      });
    }
    sendNoContent(res);
  });
