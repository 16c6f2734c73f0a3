/** POST /subscriptions (5.8.1). */
import { NgsiError, nowIso, parseSubscription } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { sendCreated } from '../http/respond';
import { checkJsonldContext } from './shared';
import { viaHops } from '../distributed/loops';
import { hostAlias } from '../discovery/sourceIdentity';
import { followNewSubscription } from '../distributed/subscriptionForwarding';

export const createSubscriptionHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: [] }, async (ngsi, req, res) => {
    const subscription = parseSubscription(ngsi.body, ngsi.ctx, nowIso());
    const via = viaHops(req);
    if (via.includes(hostAlias(deps, ngsi.tenant))) {
      // Made at a source on behalf of a subscription here, and passed back: what it would notify, that one already does.
      throw new NgsiError('OperationNotSupported', 'The subscription came back through this broker (Via): it is not made here again');
    }
    if (via.length > 0) subscription.via = via;
    await checkJsonldContext(deps, subscription.jsonldContext);
    await deps.store.notifications.createSubscription(ngsi.tenant, subscription);
    followNewSubscription(deps, ngsi.tenant, subscription).catch((e) => deps.log.error(e));
    if (deps.config.initialNotification) {
      deps.notifier.notifyCurrentState(ngsi.tenant, subscription.id).catch((e) => deps.log.error(e));
    }
    sendCreated(res, `/subscriptions/${subscription.id}`);
  });
