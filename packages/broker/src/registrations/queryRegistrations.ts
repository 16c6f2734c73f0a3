/**
 * GET /csourceRegistrations (5.10.2): the registrations whose information
 * covers the entities and attributes asked for, in the time and the place
 * asked for, one page at a time.
 */
import { badRequest, compileFilters, matchesRegistrationQuery, parseQ, parseTemporalWindow, parseTypeExpression, qAttributes, RegistrationQuery, renderRegistration } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { idSelection, list, options, page, param } from '../http/params';
import { paginationLinks, sendRepresentation } from '../http/respond';
import { requireTenant } from '../entities/shared';

const PARAMS = [
  'id', 'type', 'idPattern', 'attrs', 'q', 'csf', 'scopeQ', 'georel', 'geometry', 'coordinates', 'geoproperty',
  'timeproperty', 'timerel', 'timeAt', 'endTimeAt', 'limit', 'offset', 'count', 'options', 'local',
];

export const queryRegistrationsHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { params: PARAMS }, async (ngsi, req, res) => {
    const q = req.query;
    const geoQ = { georel: param(q, 'georel'), geometry: param(q, 'geometry'), coordinates: param(q, 'coordinates'), geoproperty: param(q, 'geoproperty') };
    const filters = compileFilters({ q: param(q, 'q'), scopeQ: param(q, 'scopeQ'), geoQ }, ngsi.ctx);
    const csf = param(q, 'csf');
    const query: RegistrationQuery = idSelection(q);
    const type = param(q, 'type');
    if (type !== undefined) query.types = parseTypeExpression(type).map((all) => all.map((t) => ngsi.ctx.expandTerm(t)));
    // Attributes q and the geo-query name select RegistrationInfos like attrs does (5.10.2.4).
    const named = [...(list(q, 'attrs') ?? []), ...(filters.q ? qAttributes(filters.q.expression) : []), ...(filters.geo ? [filters.geo.property] : [])];
    if (named.length > 0) query.attrs = named.map((a) => ngsi.ctx.expandTerm(a));
    if (filters.scopes) query.scopes = filters.scopes;
    const time = parseTemporalWindow({ timerel: param(q, 'timerel'), timeAt: param(q, 'timeAt'), endTimeAt: param(q, 'endTimeAt'), timeproperty: param(q, 'timeproperty') });
    if (time) query.time = time;
    if (!query.types && !query.attrs && !query.ids) throw badRequest('A registration query needs type, id, attrs, q or a geo-query');
    const p = page(q, deps.config.defaultLimit, deps.config.maxLimit);
    await requireTenant(deps, ngsi.tenant);
    const candidates = await deps.store.registrations.queryRegistrations(ngsi.tenant, {
      geo: filters.geo,
      csf: csf === undefined ? undefined : { expression: parseQ(csf), expand: (name) => ngsi.ctx.expandTerm(name) },
    });
    const matching = candidates.filter((r) => matchesRegistrationQuery(r, query));
    const items = matching.slice(p.offset, p.offset + p.limit);
    if (p.count) res.setHeader('NGSILD-Results-Count', String(matching.length));
    paginationLinks(req, res, ngsi.accept, p, p.offset + items.length < matching.length);
    const sysAttrs = options(q).has('sysAttrs');
    sendRepresentation(req, res, ngsi, items.map((r) => renderRegistration(r, ngsi.ctx, { sysAttrs })), { contextList: true });
  });
