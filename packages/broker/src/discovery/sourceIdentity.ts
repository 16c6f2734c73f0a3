/**
 * GET /info/sourceIdentity (5.15.1, V1.9.1): who this Context Source is, for
 * peers that federate with it: its id, an alias per tenant (so that a Via
 * chain tells two tenants of one broker apart), its uptime and its clock.
 */
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { sendRepresentation } from '../http/respond';
import { DEFAULT_TENANT } from '@civitas/store';

const started = Date.now();

/** Seconds as an ISO 8601 duration (`PT1234.5S`). */
const duration = (ms: number) => `PT${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')}S`;

/** This broker's name for one of its tenants among Context Sources (5.2.40), and its pseudonym in Via headers (6.3.18). */
export function hostAlias(deps: BrokerDeps, tenant: string): string {
  const id = deps.config.contextSourceId;
  return tenant === DEFAULT_TENANT ? id : `${id}:${tenant}`;
}

export const sourceIdentityHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, {}, async (ngsi, req, res) => {
    sendRepresentation(req, res, ngsi, {
      id: deps.config.contextSourceId,
      type: 'ContextSourceIdentity',
      contextSourceAlias: hostAlias(deps, ngsi.tenant),
      contextSourceUptime: duration(Date.now() - started),
      contextSourceTimeAt: new Date().toISOString(),
    });
  });
