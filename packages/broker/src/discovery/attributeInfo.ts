/** GET /attributes/{attrId} (5.7.10): one Attribute with its count, attribute types and entity types. */
import { notFound } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { sendRepresentation } from '../http/respond';
import { prepareDiscovery } from './shared';

export const attributeInfoHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, {}, async (ngsi, req, res) => {
    await prepareDiscovery(deps, ngsi, req, false);
    const iri = ngsi.ctx.expandTerm(req.params.attrId);
    const info = await deps.store.attributeDetails(ngsi.tenant, iri);
    if (!info) throw notFound(`No entity has attribute ${req.params.attrId}`);
    sendRepresentation(req, res, ngsi, {
      id: iri,
      type: 'Attribute',
      attributeName: ngsi.ctx.compactIri(iri),
      attributeCount: info.attributeCount,
      attributeTypes: info.attributeTypes,
      typeNames: info.typeNames.map((t) => ngsi.ctx.compactIri(t)),
    });
  });
