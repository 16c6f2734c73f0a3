/** GET /subscriptions (5.8.4): paginated, with the count on request. */
import { renderSubscription } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { options, page } from '../http/params';
import { paginationLinks, sendRepresentation } from '../http/respond';
import { requireTenant } from '../entities/shared';

export const querySubscriptionsHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { params: ['limit', 'offset', 'count', 'options'] }, async (ngsi, req, res) => {
    const p = page(req.query, deps.config.defaultLimit, deps.config.maxLimit);
    await requireTenant(deps, ngsi.tenant);
    const { items, count } = await deps.store.notifications.listSubscriptions(ngsi.tenant, p.limit, p.offset);
    if (p.count) res.setHeader('NGSILD-Results-Count', String(count));
    paginationLinks(req, res, ngsi.accept, p, p.offset + items.length < count);
    const sysAttrs = options(req.query).has('sysAttrs');
    sendRepresentation(req, res, ngsi, items.map((s) => renderSubscription(s.subscription, s.delivery, ngsi.ctx, { sysAttrs })), { contextList: true });
  });
