/**
 * Distributed subscriptions (5.8.1.4, 5.8.6): a subscription here is also
 * made at each Context Source whose registration it concerns, which offers
 * subscriptions and passes the subscription's csf, with this broker as its
 * notification endpoint. What a source notifies is passed on to the
 * subscriber under the subscription's own id, through the notifier's queue,
 * so that it is delivered (and retried) like the notifications of changes
 * made here. The subscriptions at the sources follow the one here (updated,
 * deleted with it) and the registrations (a new or changed registration is
 * subscribed to, a deleted or no longer matching one unsubscribed from).
 *
 * A source that cannot be reached when its subscription should be made,
 * changed or deleted is tried again, later and later; each failure is
 * logged.
 */
import { randomUUID } from 'node:crypto';
import {
  ActiveContext,
  badRequest,
  notFound,
  nowIso,
  parseQ,
  Registration,
  renderSubscription,
  Subscription,
  subscriptionConcerns,
  subscriptionState,
  withMembers,
} from '@civitas/core';
import type { SubscriptionForward } from '@civitas/store';
import type { BrokerDeps } from '../deps';
import { API_BASE } from '../http/apiRequest';
import { ngsiHandler } from '../http/pipeline';
import { sendNoContent } from '../http/respond';
import { hostAlias } from '../discovery/sourceIdentity';

/** Where sources send the notifications of the subscriptions made at them, under API_BASE; the token names the subscription. */
export const FORWARDED_NOTIFICATIONS_ROUTE = '/remoteNotifications/:token';

/** Operations and groups (4.20) that include creating subscriptions; a registration naming none offers federationOps. */
const SUBSCRIPTION_OPERATIONS = new Set(['createSubscription', 'federationOps', 'associationOps']);
const TIMEOUT_MS = 5_000;
const NOTHING_SENT = { timesSent: 0, timesFailed: 0 };

export function offersSubscriptions(r: Registration): boolean {
  return (r.operations ?? ['federationOps']).some((o) => SUBSCRIPTION_OPERATIONS.has(o));
}

/**
 * Brings the subscriptions made at sources for subscription `id` in line
 * with `s` (undefined: it was deleted): made at the sources it now
 * concerns, updated at those in `changed` (all, when undefined), deleted at
 * the others. False when a source failed.
 */
async function syncForwards(deps: BrokerDeps, tenant: string, id: string, s: Subscription | undefined, changed?: ReadonlySet<string>): Promise<boolean> {
  const targets = s ? await sourcesFor(deps, tenant, s) : [];
  const made = new Map((await deps.store.registrations.forwardsOf(tenant, id)).map((f) => [f.registrationId, f]));
  const outcomes = await Promise.all([
    ...targets.map(({ r, ctx }) => {
      const forward = made.get(r.id);
      made.delete(r.id);
      if (!forward) return guarded(deps, r.endpoint, () => subscribeAt(deps, tenant, s!, r, ctx));
      return changed && !changed.has(r.id) ? true : guarded(deps, r.endpoint, () => updateAt(deps, forward, s!, r, ctx));
    }),
    ...[...made.values()].map((f) => guarded(deps, f.remoteUrl, () => unsubscribeAt(deps, f))),
  ]);
  return outcomes.every(Boolean);
}

/** The work on each subscription, one after the other, so that a deletion cannot overtake the creation before it. */
const pending = new Map<string, Promise<void>>();
/** Syncs to try again, because a source failed, per broker (cleared when it stops). */
const retries = new WeakMap<BrokerDeps, Set<NodeJS.Timeout>>();
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 300_000;

/**
 * Syncs in the background, after the syncs of the same subscription asked
 * for before. Should a source fail, the sync is tried again later, on the
 * subscription as it then is, waiting twice as long each time.
 */
export function followSubscription(deps: BrokerDeps, tenant: string, id: string, s: Subscription | undefined, changed?: ReadonlySet<string>, wait = RETRY_FIRST_MS): void {
  const key = `${tenant}\u0000${id}`;
  const next = (pending.get(key) ?? Promise.resolve())
    .then(async () => {
      if (await syncForwards(deps, tenant, id, s, changed)) return;
      const timers = retries.get(deps) ?? new Set();
      retries.set(deps, timers);
      const timer = setTimeout(() => {
        timers.delete(timer);
        deps.store.notifications
          .getSubscription(tenant, id)
          .then((now) => followSubscription(deps, tenant, id, now?.subscription, changed, Math.min(wait * 2, RETRY_MAX_MS)))
          .catch((e) => deps.log.error(e));
      }, wait);
      timers.add(timer);
    })
    .catch((e) => deps.log.error(e))
    .finally(() => {
      if (pending.get(key) === next) pending.delete(key);
    });
  pending.set(key, next);
}

/** Drops the retries of a broker that stops. */
export function stopFollowing(deps: BrokerDeps): void {
  for (const timer of retries.get(deps) ?? []) clearTimeout(timer);
  retries.delete(deps);
}

/** A registration was created, changed or deleted: the subscriptions it concerned or concerns now follow it. */
export async function followRegistration(deps: BrokerDeps, tenant: string, before: Registration | undefined, after: Registration | undefined): Promise<void> {
  const id = (after ?? before)!.id;
  const forwarded = new Set(await deps.store.registrations.subscriptionsForwardedBy(tenant, id));
  const { all } = await deps.store.notifications.loadSubscriptions();
  const concerned = all.filter(
    ({ tenant: t, subscription: s }) => t === tenant && (forwarded.has(s.id) || (after !== undefined && !s.localOnly && subscriptionConcerns(s, after))),
  );
  const changed = new Set([id]);
  for (const { subscription: s } of concerned) followSubscription(deps, tenant, s.id, s, changed);
}

/** The registrations whose sources the subscription is made at, with the subscription's @context. */
async function sourcesFor(deps: BrokerDeps, tenant: string, s: Subscription): Promise<Array<{ r: Registration; ctx: ActiveContext }>> {
  if (s.localOnly || subscriptionState(s) === 'expired' || s.via?.includes(hostAlias(deps, tenant))) return [];
  const ctx = await deps.contexts.resolve(s.jsonldContext ?? s.context);
  const registrations = s.csf
    ? await deps.store.registrations.queryRegistrations(tenant, { csf: { expression: parseQ(s.csf), expand: (name) => ctx.expandTerm(name) } })
    : await deps.store.registrations.liveRegistrations(tenant);
  // 6.3.18: a source the subscription came through (by the alias its registration gives it) is not asked again.
  const cameThrough = (r: Registration) => r.contextSourceAlias !== undefined && s.via?.includes(r.contextSourceAlias) === true;
  return registrations.filter((r) => offersSubscriptions(r) && subscriptionConcerns(s, r) && !cameThrough(r)).map((r) => ({ r, ctx }));
}

/** A source's refusal (a 4xx answer): asking again the same would meet it again. */
class Refused extends Error {}

/** Why an exchange answered `status` failed: refused, or (a 5xx) worth trying again. */
const answered = (what: string, status: number): Error => (status >= 400 && status < 500 ? new Refused(`${what} answered ${status}`) : new Error(`${what} answered ${status}`));

/**
 * Runs one exchange with a source; its failure is logged, not thrown, so
 * that the other sources are still dealt with. False when it is worth
 * trying again: not after a refusal, which waits for the next change of
 * the subscription or of the registration.
 */
async function guarded(deps: BrokerDeps, where: string, exchange: () => Promise<void>): Promise<boolean> {
  try {
    await exchange();
    return true;
  } catch (e) {
    deps.log.error(new Error(`Subscription at context source ${where}: ${(e as Error).message}`));
    return e instanceof Refused;
  }
}

async function subscribeAt(deps: BrokerDeps, tenant: string, s: Subscription, r: Registration, ctx: ActiveContext): Promise<void> {
  const token = randomUUID();
  const base = `${r.endpoint.replace(/\/+$/, '')}${API_BASE}/subscriptions`;
  // Named here, so that it can be found again at the source whether or not its answer says where it is.
  const id = `urn:ngsi-ld:Subscription:${randomUUID()}`;
  const res = await exchange(deps, tenant, s, r.tenant, base, 'POST', { id, ...copyFor(deps, s, r, ctx, token) });
  if (res.status !== 201) throw answered('creation', res.status);
  const remoteUrl = new URL(res.headers.get('location') ?? `${base}/${encodeURIComponent(id)}`, base).href;
  await deps.store.registrations.saveForward({ tenant, subscriptionId: s.id, registrationId: r.id, remoteUrl, remoteTenant: r.tenant, token });
}

async function updateAt(deps: BrokerDeps, f: SubscriptionForward, s: Subscription, r: Registration, ctx: ActiveContext): Promise<void> {
  const res = await exchange(deps, f.tenant, s, f.remoteTenant, f.remoteUrl, 'PATCH', copyFor(deps, s, r, ctx, f.token));
  if (res.status === 404) {
    // The source lost it (it expired there, or the source was reset): made again.
    await deps.store.registrations.dropForward(f.tenant, f.subscriptionId, f.registrationId);
    await subscribeAt(deps, f.tenant, s, r, ctx);
  } else if (!res.ok) throw answered('update', res.status);
}

async function unsubscribeAt(deps: BrokerDeps, f: SubscriptionForward): Promise<void> {
  const res = await exchange(deps, f.tenant, undefined, f.remoteTenant, f.remoteUrl, 'DELETE');
  if (!res.ok && res.status !== 404) throw answered('deletion', res.status);
  await deps.store.registrations.dropForward(f.tenant, f.subscriptionId, f.registrationId);
}

/** One request to a source about the subscription `s` of tenant `here`; `there` is the tenant at the source. */
async function exchange(deps: BrokerDeps, here: string, s: Subscription | undefined, there: string | undefined, url: string, method: string, body?: unknown): Promise<Response> {
  // Via names the brokers the subscription passed through, so that none of them subscribes to it again (6.3.18).
  const via = [...(s?.via ?? []), hostAlias(deps, here)].map((alias) => `1.1 ${alias}`).join(', ');
  const headers: Record<string, string> = { Via: via };
  if (there) headers['NGSILD-Tenant'] = there;
  if (body !== undefined) headers['Content-Type'] = 'application/ld+json';
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(TIMEOUT_MS) });
  await res.body?.cancel();
  return res;
}

/**
 * The subscription as made at a source (5.8.1.4): narrowed to the entity
 * selectors the registration covers, without csf (a filter of this
 * broker's registrations), notifying this broker, local to the source if
 * its registration is. Filters and the shape of
 * the notifications stay, so that the source sends what the subscriber
 * asked for, in the subscriber's @context.
 */
function copyFor(deps: BrokerDeps, s: Subscription, r: Registration, ctx: ActiveContext, token: string): Record<string, unknown> {
  const entities = s.entities?.filter((e) => subscriptionConcerns(withMembers(s, { entities: [e] }), r));
  const { id: _here, csf: _ours, localOnly: _local, status: _status, ...copy } = renderSubscription(withMembers(s, { entities }), NOTHING_SENT, ctx);
  const accept = s.notification.endpoint.accept === 'application/geo+json' ? 'application/geo+json' : 'application/json';
  const uri = deps.absoluteUrl(`${API_BASE}${FORWARDED_NOTIFICATIONS_ROUTE.replace(':token', token)}`);
  // 4.3.6.4: a source registered localOnly answers for its own entities only; its subscription too.
  if (r.management?.localOnly) copy.localOnly = true;
  return { ...copy, notification: { ...(copy.notification as object), endpoint: { uri, accept } }, '@context': ctx.responseContext };
}

/**
 * POST of a source's notification (5.8.6): passed on, as a notification of
 * the subscription it was made for, once queued (a source whose
 * notification could not be queued hears an error and sends it again).
 */
export const forwardedNotificationHandler = (deps: BrokerDeps) =>
  ngsiHandler(deps, { body: true, produces: false, params: [] }, async (ngsi, req, res) => {
    const forward = await deps.store.registrations.forwardByToken(req.params.token);
    if (!forward) throw notFound('No subscription is made at a context source under this address');
    const body = ngsi.body as Record<string, unknown>;
    if (body?.type !== 'Notification' || (!Array.isArray(body.data) && typeof body.data !== 'object')) throw badRequest('A Notification with data is expected');
    const here = await deps.store.notifications.getSubscription(forward.tenant, forward.subscriptionId);
    if (!here) throw notFound(`Subscription ${forward.subscriptionId} does not exist`);
    const notification = { id: `urn:ngsi-ld:Notification:${randomUUID()}`, type: 'Notification', subscriptionId: forward.subscriptionId, notifiedAt: nowIso(), data: body.data };
    await deps.notifier.send(forward.tenant, forward.subscriptionId, notification);
    sendNoContent(res);
  });
