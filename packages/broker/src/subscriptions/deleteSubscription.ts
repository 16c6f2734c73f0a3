/** DELETE /subscriptions/{subscriptionId} (5.8.5); notifications still queued for it go with it. */
import { notFound } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { sendNoContent } from '../http/respond';
import { requireTenant } from '../entities/shared';
import { subscriptionIdParam } from './shared';
import { followSubscription } from '../distributed/subscriptionForwarding';

export const deleteSubscriptionHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { produces: false, params: [] }, async (ngsi, req, res) => {
    const id = subscriptionIdParam(req);
    await requireTenant(deps, ngsi.tenant);
    if (!(await deps.store.notifications.deleteSubscription(ngsi.tenant, id))) throw notFound(`Subscription ${id} does not exist`);
    void followSubscription(deps, ngsi.tenant, id);
    sendNoContent(res);
  });
