/** GET /types/{type} (5.7.7): EntityTypeInfo, with the entity count and every attribute's types. */
import { notFound } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { sendRepresentation } from '../http/respond';
import { prepareDiscovery } from './shared';

export const typeInfoHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, {}, async (ngsi, req, res) => {
    await prepareDiscovery(deps, ngsi, req, false);
    const iri = ngsi.ctx.expandTerm(req.params.type);
    const info = await deps.store.typeDetails(ngsi.tenant, iri);
    if (!info) throw notFound(`No entity has type ${req.params.type}`);
    sendRepresentation(req, res, ngsi, {
      id: iri,
      type: 'EntityTypeInfo',
      typeName: ngsi.ctx.compactIri(iri),
      entityCount: info.entityCount,
      attributeDetails: info.attributes.map((a) => ({
        id: a.name,
        type: 'Attribute',
        attributeName: ngsi.ctx.compactIri(a.name),
        attributeTypes: a.attributeTypes,
      })),
    });
  });
