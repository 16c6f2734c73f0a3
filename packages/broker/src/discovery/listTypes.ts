/** GET /types (5.7.5, 5.7.6): an EntityTypeList, or with details=true an EntityType per type. */
import { randomUUID } from 'node:crypto';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { sendRepresentation } from '../http/respond';
import { prepareDiscovery } from './shared';

export const listTypesHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, {}, async (ngsi, req, res) => {
    const { details } = await prepareDiscovery(deps, ngsi, req, true);
    const types = await deps.store.listTypes(ngsi.tenant);
    const name = (iri: string) => ngsi.ctx.compactIri(iri);
    const body = details
      ? types.map((t) => ({ id: t.type, type: 'EntityType', typeName: name(t.type), attributeNames: t.attributes.map(name) }))
      : { id: `urn:ngsi-ld:EntityTypeList:${randomUUID()}`, type: 'EntityTypeList', typeList: types.map((t) => name(t.type)) };
    sendRepresentation(req, res, ngsi, body);
  });
