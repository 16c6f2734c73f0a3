/** GET /attributes (5.7.8, 5.7.9): an AttributeList, or with details=true an Attribute per attribute. */
import { randomUUID } from 'node:crypto';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { sendRepresentation } from '../http/respond';
import { prepareDiscovery } from './shared';

export const listAttributesHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, {}, async (ngsi, req, res) => {
    const { details } = await prepareDiscovery(deps, ngsi, req, true);
    const attributes = await deps.store.listAttributes(ngsi.tenant);
    const name = (iri: string) => ngsi.ctx.compactIri(iri);
    const body = details
      ? attributes.map((a) => ({ id: a.name, type: 'Attribute', attributeName: name(a.name), typeNames: a.typeNames.map(name) }))
      : { id: `urn:ngsi-ld:AttributeList:${randomUUID()}`, type: 'AttributeList', attributeList: attributes.map((a) => name(a.name)) };
    sendRepresentation(req, res, ngsi, body);
  });
