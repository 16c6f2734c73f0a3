/** What the discovery operations (5.7.5 - 5.7.9) share: tenant check and the details flag. */
import type { ApiRequest } from '../http/apiRequest';
import type { BrokerDeps } from '../deps';
import type { NgsiRequest } from '../http/pipeline';
import { allowOnly, flag } from '../http/params';
import { requireTenant } from '../entities/shared';

/** `details` exists only on the list operations; the single type or attribute takes `local` alone (6.3.20). */
export async function prepareDiscovery(deps: BrokerDeps, ngsi: NgsiRequest, req: ApiRequest, list: boolean): Promise<{ details: boolean }> {
  allowOnly(req, list ? ['details', 'local'] : ['local']);
  const details = flag(req.query, 'details');
  await requireTenant(deps, ngsi.tenant);
  return { details };
}
