/** GET /subscriptions (5.8.4): paginated, with the count on request. */
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { sendSubscriptionPage } from './shared';

export const querySubscriptionsHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { params: ['limit', 'offset', 'count', 'options'] }, (ngsi, req, res) =>
    sendSubscriptionPage(deps, ngsi, req, res, (limit, offset) => deps.store.notifications.listSubscriptions(ngsi.tenant, limit, offset)),
  );
