/** Pieces every subscription operation uses: the id from the URL, the tenant check, the lookup. */
import type { Request } from 'express';
import { badRequest, isUri, notFound } from '@civitas/core';
import type { StoredSubscription } from '@civitas/store';
import type { BrokerDeps } from '../deps';
import { requireTenant } from '../entities/shared';

export function subscriptionIdParam(req: Request): string {
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
