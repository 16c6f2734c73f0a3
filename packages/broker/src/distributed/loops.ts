/** Whether a request may be forwarded to Context Sources (4.3.6.5, 6.3.18). */
import type { ApiRequest } from '../http/apiRequest';
import type { BrokerDeps } from '../deps';

/**
 * Not when the client asks for local data only (`local=true`), nor when the
 * request already passed through this broker (its id in Via): that would
 * loop between brokers that registered each other.
 */
export function distributed(req: ApiRequest, deps: BrokerDeps): boolean {
  return req.query.local !== 'true' && !viaHops(req).includes(deps.config.contextSourceId);
}

/** The brokers a request came through: the names of its Via header (`1.1 <name>, ...`). */
export function viaHops(req: ApiRequest): string[] {
  const via = req.headers.via;
  if (via === undefined) return [];
  const hops = Array.isArray(via) ? via.join(',') : (via ?? '');
  return hops
    .split(',')
    .map((hop) => hop.trim().split(/\s+/)[1])
    .filter((name): name is string => name !== undefined);
}
