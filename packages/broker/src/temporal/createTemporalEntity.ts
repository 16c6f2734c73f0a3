/**
 * POST /temporal/entities (5.6.11): create a temporal entity, or update the
 * history of an existing one (an instance observed when one of its attribute
 * and datasetId already was replaces it). A new temporal entity is also a current
 * entity, holding the latest instance of each attribute, so that the rest
 * of the API (and its deletions, recorded in the history) can reach it.
 */
import { AttributeInstance, createEntity, EntityFragment, EntityParser, nowIso, SCOPE } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { sendCreated, sendNoContent } from '../http/respond';
import { historyInstancesOf } from './temporalWrites';

export const createTemporalEntityHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: [] }, async (ngsi, _req, res) => {
    const fragment = new EntityParser(ngsi.ctx, { requireIdAndType: true, temporal: true }).entity(ngsi.body);
    const id = fragment.id!;
    const { existed } = await deps.store.appendHistory(ngsi.tenant, id, fragment.types, historyInstancesOf(fragment), { createTenant: true, replaceObserved: true });
    if (existed) {
      sendNoContent(res);
      return;
    }
    // An entity of that id created meanwhile through the core API stays as it is (an insert never overwrites).
    const current = createEntity(latestInstances(fragment), nowIso());
    await deps.store.mutate(ngsi.tenant, [], () => ({ inserts: [current], result: undefined }), { history: false });
    sendCreated(res, `/temporal/entities/${id}`);
  });

/** The fragment with, per attribute and datasetId, its latest instance (by observedAt; the last given otherwise). */
function latestInstances(fragment: EntityFragment): EntityFragment {
  const time = (i: AttributeInstance) => (i.observedAt ? Date.parse(i.observedAt) : -Infinity);
  const attrs = Object.fromEntries(
    Object.entries(fragment.attrs).map(([attr, instances]) => {
      const latest = new Map<string | undefined, AttributeInstance>();
      for (const i of instances) {
        const seen = latest.get(i.datasetId);
        if (!seen || time(i) >= time(seen)) latest.set(i.datasetId, i);
      }
      return [attr, [...latest.values()]];
    }),
  );
  // The scope's latest instance is the entity's scope, not an attribute.
  const { [SCOPE]: scope, ...rest } = attrs;
  return { ...fragment, attrs: rest, ...(scope ? { scope: scope[0].value as string[] } : {}) };
}
