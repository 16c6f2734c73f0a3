/** PATCH /subscriptions/{subscriptionId} (5.8.2): the given members replace the stored ones. */
import { notFound, nowIso, updateSubscription } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { sendNoContent } from '../http/respond';
import { requireTenant } from '../entities/shared';
import { checkJsonldContext, subscriptionIdParam } from './shared';
import { followSubscription } from '../distributed/subscriptionForwarding';

export const updateSubscriptionHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: [] }, async (ngsi, req, res) => {
    const id = subscriptionIdParam(req);
    await requireTenant(deps, ngsi.tenant);
    const body = ngsi.body as Record<string, unknown> | undefined;
    if (typeof body?.jsonldContext === 'string') await checkJsonldContext(deps, body.jsonldContext);
    const updated = await deps.store.notifications.updateSubscription(ngsi.tenant, id, (current) => updateSubscription(current, ngsi.body, ngsi.ctx, nowIso()));
    if (!updated) throw notFound(`Subscription ${id} does not exist`);
    void followSubscription(deps, ngsi.tenant, id);
    sendNoContent(res);
  });
