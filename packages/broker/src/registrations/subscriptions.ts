/**
 * Subscriptions to context source registrations (5.11): the same
 * Subscription data type as for entities, kept apart, and notified when a
 * registration they concern is created, updated or deleted (5.11.7,
 * triggerReason newlyMatching / updated / noLongerMatching), and at
 * creation of the registrations they already concern. Delivery is over
 * HTTP, once per change, and its outcome shows in the subscription's status.
 */
import { randomUUID } from 'node:crypto';
import {
  NgsiError,
  notFound,
  nowIso,
  parseSubscription,
  Registration,
  renderRegistration,
  renderSubscription,
  subscriptionConcerns,
  Subscription,
  subscriptionState,
  updateSubscription,
} from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { ngsiHandler } from '../http/pipeline';
import { options } from '../http/params';
import { sendCreated, sendNoContent, sendRepresentation } from '../http/respond';
import { requireTenant } from '../entities/shared';
import { sendSubscriptionPage, subscriptionIdParam } from '../subscriptions/shared';

export const createRegistrationSubscriptionHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: [] }, async (ngsi, _req, res) => {
    const subscription = parseSubscription(ngsi.body, ngsi.ctx, nowIso());
    if (!(await deps.store.registrations.createRegistrationSubscription(ngsi.tenant, subscription))) {
      throw new NgsiError('AlreadyExists', `Subscription ${subscription.id} already exists`);
    }
    notifyCurrentRegistrations(deps, ngsi.tenant, subscription).catch((e) => deps.log.error(e));
    sendCreated(res, `/csourceSubscriptions/${subscription.id}`);
  });

export const retrieveRegistrationSubscriptionHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { params: ['options'] }, async (ngsi, req, res) => {
    const id = subscriptionIdParam(req);
    await requireTenant(deps, ngsi.tenant);
    const found = await deps.store.registrations.getRegistrationSubscription(ngsi.tenant, id);
    if (!found) throw notFound(`Subscription ${id} does not exist`);
    sendRepresentation(req, res, ngsi, renderRegistrationSubscription(found.subscription, found.delivery, ngsi.ctx, { sysAttrs: options(req.query).has('sysAttrs') }), { contextList: true });
  });

export const queryRegistrationSubscriptionsHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { params: ['limit', 'offset', 'count', 'options'] }, (ngsi, req, res) =>
    sendSubscriptionPage(deps, ngsi, req, res, (limit, offset) => deps.store.registrations.listRegistrationSubscriptions(ngsi.tenant, limit, offset), renderRegistrationSubscription),
  );

export const updateRegistrationSubscriptionHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: [] }, async (ngsi, req, res) => {
    const id = subscriptionIdParam(req);
    await requireTenant(deps, ngsi.tenant);
    const updated = await deps.store.registrations.updateRegistrationSubscription(ngsi.tenant, id, (current) => updateSubscription(current, ngsi.body, ngsi.ctx, nowIso()));
    if (!updated) throw notFound(`Subscription ${id} does not exist`);
    sendNoContent(res);
  });

export const deleteRegistrationSubscriptionHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { produces: false, params: [] }, async (ngsi, req, res) => {
    const id = subscriptionIdParam(req);
    await requireTenant(deps, ngsi.tenant);
    if (!(await deps.store.registrations.deleteRegistrationSubscription(ngsi.tenant, id))) throw notFound(`Subscription ${id} does not exist`);
    sendNoContent(res);
  });

/**
 * Tells the subscriptions a registration change concerns (5.11.7): the
 * registration as it is now (newlyMatching, updated) or as it was
 * (noLongerMatching). Runs after the change; failures are logged and
 * counted in the subscription's status.
 */
export async function notifyRegistrationChange(deps: BrokerDeps, tenant: string, before: Registration | undefined, after: Registration | undefined): Promise<void> {
  const { items } = await deps.store.registrations.listRegistrationSubscriptions(tenant, 10_000, 0);
  await Promise.all(
    items.map(async ({ subscription: s }) => {
      if (subscriptionState(s) !== 'active') return;
      const was = before !== undefined && subscriptionConcerns(s, before);
      const is = after !== undefined && subscriptionConcerns(s, after);
      if (!was && !is) return;
      await sendRegistrationNotification(deps, tenant, s, [(is ? after : before)!], is ? (was ? 'updated' : 'newlyMatching') : 'noLongerMatching');
    }),
  );
}

/** A new subscription hears at once of the registrations it already concerns (5.11.2.4), in one notification. */
export async function notifyCurrentRegistrations(deps: BrokerDeps, tenant: string, s: Subscription): Promise<void> {
  const matching = (await deps.store.registrations.liveRegistrations(tenant)).filter((r) => subscriptionConcerns(s, r));
  if (matching.length > 0) await sendRegistrationNotification(deps, tenant, s, matching, 'newlyMatching');
}

/** POSTs one ContextSourceNotification (5.3.2) and counts the attempt in the subscription's status. */
async function sendRegistrationNotification(deps: BrokerDeps, tenant: string, s: Subscription, registrations: Registration[], triggerReason: string): Promise<void> {
  const ctx = await deps.contexts.resolve(s.jsonldContext ?? s.context);
  const notifiedAt = nowIso();
  const body = {
    id: `urn:ngsi-ld:Notification:${randomUUID()}`,
    type: 'ContextSourceNotification',
    subscriptionId: s.id,
    notifiedAt,
    data: registrations.map((r) => renderRegistration(r, ctx)),
    triggerReason,
    // JSON-LD, so that the @context travels with it whatever its form.
    '@context': ctx.responseContext,
  };
  let ok = false;
  try {
    const headers: Record<string, string> = { 'Content-Type': 'application/ld+json' };
    if (tenant) headers['NGSILD-Tenant'] = tenant;
    for (const { key, value } of s.notification.endpoint.receiverInfo ?? []) headers[key] = value;
    const res = await fetch(s.notification.endpoint.uri, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    ok = res.ok;
  } catch (e) {
    deps.log.error(new Error(`Registration notification to ${s.notification.endpoint.uri} failed: ${(e as Error).message}`));
  }
  await deps.store.registrations.recordRegistrationNotification(tenant, s.id, ok, notifiedAt);
}

/** A subscription to registrations as shown: notificationTrigger belongs to entity subscriptions only. */
function renderRegistrationSubscription(...args: Parameters<typeof renderSubscription>): Record<string, unknown> {
  const { notificationTrigger: _entityOnly, ...out } = renderSubscription(...args);
  return out;
}
