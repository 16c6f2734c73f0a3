/** POST /subscriptions (5.8.1). */
import { nowIso, parseSubscription } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { sendCreated } from '../http/respond';
import { checkJsonldContext } from './shared';

export const createSubscriptionHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: [] }, async (ngsi, _req, res) => {
    const subscription = parseSubscription(ngsi.body, ngsi.ctx, nowIso());
    await checkJsonldContext(deps, subscription.jsonldContext);
    await deps.store.notifications.createSubscription(ngsi.tenant, subscription);
    if (deps.config.initialNotification) {
      deps.notifier.notifyCurrentState(ngsi.tenant, subscription.id).catch((e) => deps.log.error(e));
    }
    sendCreated(res, `/subscriptions/${subscription.id}`);
  });
