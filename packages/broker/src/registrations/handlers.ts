/**
 * Context source registrations (5.9, 5.10.1): register, retrieve, update
 * (a merge of the given members) and delete. A registration is checked
 * against the others and against the stored entities as its mode asks
 * (4.3.6.3, 5.9.2.4) before it is kept.
 */
import type { ApiRequest } from '../http/apiRequest';
import { badRequest, isUri, NgsiError, nowIso, notFound, parseRegistration, Registration, registrationsOverlap, renderRegistration, updateRegistration } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { options } from '../http/params';
import { sendCreated, sendNoContent, sendRepresentation } from '../http/respond';
import { requireTenant } from '../entities/shared';
import { notifyRegistrationChange } from './subscriptions';
import { followRegistration } from '../distributed/subscriptionForwarding';

export const createRegistrationHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: [] }, async (ngsi, _req, res) => {
    const registration = parseRegistration(ngsi.body, ngsi.ctx, nowIso());
    await checkConflicts(deps, ngsi.tenant, registration);
    if (!(await deps.store.registrations.createRegistration(ngsi.tenant, registration))) {
      throw new NgsiError('AlreadyExists', `Registration ${registration.id} already exists`);
    }
    notifySubscribers(deps, ngsi.tenant, undefined, registration);
    sendCreated(res, `/csourceRegistrations/${registration.id}`);
  });

export const retrieveRegistrationHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { params: ['options'] }, async (ngsi, req, res) => {
    const id = registrationIdParam(req);
    await requireTenant(deps, ngsi.tenant);
    const registration = await deps.store.registrations.getRegistration(ngsi.tenant, id);
    if (!registration) throw notFound(`Registration ${id} does not exist`);
    sendRepresentation(req, res, ngsi, renderRegistration(registration, ngsi.ctx, { sysAttrs: options(req.query).has('sysAttrs') }), { contextList: true });
  });

export const updateRegistrationHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: [] }, async (ngsi, req, res) => {
    const id = registrationIdParam(req);
    await requireTenant(deps, ngsi.tenant);
    const current = await deps.store.registrations.getRegistration(ngsi.tenant, id);
    if (!current) throw notFound(`Registration ${id} does not exist`);
    // Checked against the others first; the store then applies the same change to the locked row.
    await checkConflicts(deps, ngsi.tenant, updateRegistration(current, ngsi.body, ngsi.ctx, nowIso()));
    const updated = await deps.store.registrations.updateRegistration(ngsi.tenant, id, (stored) => updateRegistration(stored, ngsi.body, ngsi.ctx, nowIso()));
    if (!updated) throw notFound(`Registration ${id} does not exist`);
    notifySubscribers(deps, ngsi.tenant, current, updated);
    sendNoContent(res);
  });

export const deleteRegistrationHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { produces: false, params: [] }, async (ngsi, req, res) => {
    const id = registrationIdParam(req);
    await requireTenant(deps, ngsi.tenant);
    const current = await deps.store.registrations.getRegistration(ngsi.tenant, id);
    if (!current || !(await deps.store.registrations.deleteRegistration(ngsi.tenant, id))) throw notFound(`Registration ${id} does not exist`);
    notifySubscribers(deps, ngsi.tenant, current, undefined);
    sendNoContent(res);
  });

/**
 * Subscribers to registrations hear of the change, and the subscriptions
 * made at context sources follow it, after it is answered; a failure there
 * is theirs, not the request's.
 */
function notifySubscribers(deps: BrokerDeps, tenant: string, before: Registration | undefined, after: Registration | undefined): void {
  notifyRegistrationChange(deps, tenant, before, after).catch((e) => deps.log.error(e));
  followRegistration(deps, tenant, before, after);
}

function registrationIdParam(req: ApiRequest): string {
  const id = req.params.registrationId;
  if (!isUri(id)) throw badRequest(`Registration id ${JSON.stringify(id)} is not a URI`);
  return id;
}

/**
 * 4.3.6.3 and 5.9.2.4: nothing may overlap an exclusive registration, and
 * an exclusive one may not overlap a redirect one; an exclusive registration
 * may not cover attributes of entities stored here, nor a redirect one any
 * stored entity.
 */
async function checkConflicts(deps: BrokerDeps, tenant: string, r: Registration): Promise<void> {
  const others = (await deps.store.registrations.queryRegistrations(tenant)).filter((o) => o.id !== r.id);
  const clash = others.find(
    (o) => (o.mode === 'exclusive' || (r.mode === 'exclusive' && o.mode === 'redirect')) && registrationsOverlap(r, o),
  );
  if (clash) throw new NgsiError('Conflict', `The registration overlaps the ${clash.mode} registration ${clash.id}`);
  if (r.mode !== 'exclusive' && r.mode !== 'redirect') return;
  for (const info of r.information) {
    const attrs = [...(info.propertyNames ?? []), ...(info.relationshipNames ?? [])];
    for (const e of info.entities ?? []) {
      const query = { types: [e.types], limit: 1, offset: 0, ...(e.id !== undefined ? { ids: [e.id] } : e.idPattern !== undefined ? { idPattern: e.idPattern } : {}) };
      const [stored] = (await deps.store.queryEntities(tenant, query)).entities;
      if (!stored) continue;
      if (r.mode === 'redirect') throw new NgsiError('Conflict', `Entity ${stored.id} is stored here: a redirect registration cannot cover it`);
      const held = attrs.find((a) => a in stored.attrs);
      if (held) throw new NgsiError('Conflict', `Entity ${stored.id} has ${held} here: an exclusive registration cannot cover it`);
    }
  }
}
