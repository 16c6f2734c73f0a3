/** GET /subscriptions/{subscriptionId} (5.8.3). */
import { renderSubscription } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { options } from '../http/params';
import { sendRepresentation } from '../http/respond';
import { loadSubscription, subscriptionIdParam } from './shared';

export const retrieveSubscriptionHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { params: ['options'] }, async (ngsi, req, res) => {
    const id = subscriptionIdParam(req);
    // A status read right after a notification arrived should see that attempt.
    await deps.notifier.settled(ngsi.tenant, id);
    const { subscription, delivery } = await loadSubscription(deps, ngsi.tenant, id);
    const sysAttrs = options(req.query).has('sysAttrs');
    sendRepresentation(req, res, ngsi, renderSubscription(subscription, delivery, ngsi.ctx, { sysAttrs }), { contextList: true });
  });
