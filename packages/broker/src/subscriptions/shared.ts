/** Pieces every subscription operation uses: the id from the URL, the tenant check, the lookup. */
import type { ServerResponse } from 'node:http';
import type { ApiRequest } from '../http/apiRequest';
import { badRequest, DeliveryStatus, isUri, notFound, renderSubscription, Subscription } from '@civitas/core';
import type { StoredSubscription } from '@civitas/store';
import type { BrokerDeps } from '../deps';
import type { NgsiRequest } from '../http/pipeline';
import { options, page } from '../http/params';
import { paginationLinks, sendRepresentation } from '../http/respond';
import { requireTenant } from '../entities/shared';

export function subscriptionIdParam(req: ApiRequest): string {
  const id = req.params.subscriptionId;
  if (!isUri(id)) throw badRequest(`Subscription id ${JSON.stringify(id)} is not a URI`);
  return id;
}

export async function loadSubscription(deps: BrokerDeps, tenant: string, id: string): Promise<StoredSubscription> {
  await requireTenant(deps, tenant);
  const found = await deps.store.notifications.getSubscription(tenant, id);
  if (!found) throw notFound(`Subscription ${id} does not exist`);
  return found;
}

/** 5.8.1.4: a jsonldContext must be loadable now, not at the first notification. */
export async function checkJsonldContext(deps: BrokerDeps, url: string | undefined): Promise<void> {
  if (url !== undefined) await deps.contexts.resolve(url);
}

/**
 * GET of a list of subscriptions (5.8.4, 5.11.4): a page from `list`, with
 * the count on request and pagination links, each shown by `render`.
 */
export async function sendSubscriptionPage(
  deps: BrokerDeps,
  ngsi: NgsiRequest,
  req: ApiRequest,
  res: ServerResponse,
  list: (limit: number, offset: number) => Promise<{ items: Array<{ subscription: Subscription; delivery: DeliveryStatus }>; count: number }>,
  render: typeof renderSubscription = renderSubscription,
): Promise<void> {
  const p = page(req.query, deps.config.defaultLimit, deps.config.maxLimit);
  await requireTenant(deps, ngsi.tenant);
  const { items, count } = await list(p.limit, p.offset);
  if (p.count) res.setHeader('NGSILD-Results-Count', String(count));
  paginationLinks(req, res, ngsi.accept, p, p.offset + items.length < count);
  const sysAttrs = options(req.query).has('sysAttrs');
  sendRepresentation(req, res, ngsi, items.map((s) => render(s.subscription, s.delivery, ngsi.ctx, { sysAttrs })), { contextList: true });
}
