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
import { ActiveContext, parseQ, Registration, renderSubscription, Subscription, subscriptionConcerns, subscriptionState, withMembers } from '@civitas/core';
import type { SubscriptionForward } from '@civitas/store';
import type { BrokerDeps } from '../deps';
import { API_BASE } from '../http/apiRequest';
import { hostAlias } from '../discovery/sourceIdentity';
import { FORWARDED_NOTIFICATIONS_ROUTE } from './forwardedNotifications';

/** Operations and groups (4.20) that include creating subscriptions; a registration naming none offers federationOps. */
const SUBSCRIPTION_OPERATIONS = new Set(['createSubscription', 'federationOps', 'associationOps']);
const TIMEOUT_MS = 5_000;
const NOTHING_SENT = { timesSent: 0, timesFailed: 0 };
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 300_000;
/** Members a copy may lack: an update sends them as null, so that what the subscription here dropped goes at the source too. */
const REMOVABLE = ['subscriptionName', 'description', 'entities', 'watchedAttributes', 'timeInterval', 'q', 'geoQ', 'scopeQ', 'expiresAt', 'throttling', 'lang', 'datasetId', 'jsonldContext', 'localOnly'];

function offersSubscriptions(r: Registration): boolean {
  return (r.operations ?? ['federationOps']).some((o) => SUBSCRIPTION_OPERATIONS.has(o));
}

/** What one broker has under way: syncs one after the other per subscription, retries, one timer per subscription. */
interface Follower {
  pending: Map<string, Promise<void>>;
  retries: Map<string, { timer: NodeJS.Timeout; wait: number; changed?: ReadonlySet<string> }>;
  check?: NodeJS.Timeout;
  checking?: Promise<void>;
  /** Registration changes being followed. */
  registrations: Set<Promise<void>>;
  stopped: boolean;
}
const followers = new WeakMap<BrokerDeps, Follower>();

function followerOf(deps: BrokerDeps): Follower {
  let f = followers.get(deps);
  if (!f) followers.set(deps, (f = { pending: new Map(), retries: new Map(), registrations: new Set(), stopped: false }));
  return f;
}

/**
 * Brings the subscriptions made at sources for subscription `id` in line
 * with it as stored now (deleted: none), in the background and after the
 * syncs of it asked for before, so that a deletion cannot overtake the
 * creation before it. Those at the sources in `changed` (all, when
 * undefined) are updated. Should a source fail, the sync is tried again
 * later, waiting twice as long each time.
 */
export function followSubscription(deps: BrokerDeps, tenant: string, id: string, changed?: ReadonlySet<string>): Promise<void> {
  const follower = followerOf(deps);
  if (follower.stopped) return Promise.resolve();
  const key = `${tenant}\u0000${id}`;
  const next = (follower.pending.get(key) ?? Promise.resolve())
    .then(async () => {
      if (follower.stopped) return;
      const done = await syncForwards(deps, tenant, id, changed);
      const retry = follower.retries.get(key);
      // A retry waiting for updates this sync did not make keeps waiting.
      if (done && retry && !covers(changed, retry.changed)) return;
      if (retry) clearTimeout(retry.timer);
      if (done) {
        follower.retries.delete(key);
        return;
      }
      if (follower.stopped) return;
      const wait = retry ? Math.min(retry.wait * 2, RETRY_MAX_MS) : RETRY_FIRST_MS;
      const again = retry ? union(retry.changed, changed) : changed;
      const timer = setTimeout(() => void followSubscription(deps, tenant, id, again), wait);
      timer.unref();
      follower.retries.set(key, { timer, wait, changed: again });
    })
    .catch((e) => deps.log.error(e))
    .finally(() => {
      if (follower.pending.get(key) === next) follower.pending.delete(key);
    });
  follower.pending.set(key, next);
  return next;
}

/** Runs followAll at start and every `everyMs`. */
export function startFollowing(deps: BrokerDeps, everyMs: number): void {
  const follower = followerOf(deps);
  const check = () => {
    // A check still going when the next is due lets that one pass.
    if (follower.checking) return;
    follower.checking = followAll(deps)
      .catch((e) => deps.log.error(e))
      .finally(() => (follower.checking = undefined));
  };
  check();
  follower.check = setInterval(check, everyMs);
}

/**
 * A subscription just created: followed only if a registration offering
 * subscriptions concerns it, which is judged in memory, so that creating
 * many subscriptions where no source is registered costs no query.
 */
export async function followNewSubscription(deps: BrokerDeps, tenant: string, s: Subscription): Promise<void> {
  if (s.localOnly) return;
  const registrations = await deps.store.registrations.liveRegistrations(tenant);
  if (registrations.some((r) => offersSubscriptions(r) && subscriptionConcerns(s, r))) void followSubscription(deps, tenant, s.id);
}

/** Whether a sync updating the sources of `a` (all: undefined) updates those of `b`. */
const covers = (a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined): boolean => a === undefined || (b !== undefined && [...b].every((x) => a.has(x)));

const union = (a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined): ReadonlySet<string> | undefined => (a && b ? new Set([...a, ...b]) : undefined);

/** Stops a broker's syncs: no more are started, no retry is left waiting, those under way are finished. */
export async function stopFollowing(deps: BrokerDeps): Promise<void> {
  const follower = followerOf(deps);
  follower.stopped = true;
  clearInterval(follower.check);
  for (const { timer } of follower.retries.values()) clearTimeout(timer);
  follower.retries.clear();
  await Promise.all([follower.checking, ...follower.registrations]);
  await Promise.all(follower.pending.values());
}

/** A registration was created, changed or deleted: the subscriptions it concerned or concerns now follow it. */
export function followRegistration(deps: BrokerDeps, tenant: string, before: Registration | undefined, after: Registration | undefined): void {
  const follower = followerOf(deps);
  if (follower.stopped) return;
  const work = followingRegistration(deps, tenant, before, after).catch((e) => deps.log.error(e));
  follower.registrations.add(work);
  void work.finally(() => follower.registrations.delete(work));
}

async function followingRegistration(deps: BrokerDeps, tenant: string, before: Registration | undefined, after: Registration | undefined): Promise<void> {
  const id = (after ?? before)!.id;
  const forwarded = new Set(await deps.store.registrations.subscriptionsForwardedBy(tenant, id));
  const { all } = await deps.store.notifications.loadSubscriptions();
  const changed = new Set([id]);
  for (const { tenant: t, subscription: s } of all) {
    if (t === tenant && (forwarded.has(s.id) || (after !== undefined && !s.localOnly && subscriptionConcerns(s, after)))) void followSubscription(deps, tenant, s.id, changed);
  }
}

/**
 * Syncs every subscription that has copies at sources or should have:
 * catches up with registrations that expired (no request tells of that),
 * changes a failure or a restart left unconfirmed, and subscriptions older
 * than this feature. Copies in step are not sent again.
 */
async function followAll(deps: BrokerDeps): Promise<void> {
  const follower = followerOf(deps);
  const forwarded = await deps.store.registrations.forwardedSubscriptions();
  const { all } = await deps.store.notifications.loadSubscriptions();
  const sources = new Map<string, Promise<Registration[]>>();
  const sourcesOf = (tenant: string) => {
    if (!sources.has(tenant)) sources.set(tenant, deps.store.registrations.liveRegistrations(tenant).then((rs) => rs.filter(offersSubscriptions)));
    return sources.get(tenant)!;
  };
  const keys = new Set(forwarded.map((f) => `${f.tenant}\u0000${f.subscriptionId}`));
  for (const { tenant, subscription: s } of all) {
    if (keys.has(`${tenant}\u0000${s.id}`) || s.localOnly) continue;
    if ((await sourcesOf(tenant)).some((r) => subscriptionConcerns(s, r))) keys.add(`${tenant}\u0000${s.id}`);
  }
  // One at a time, so that the check does not crowd out the requests; those waiting for a retry keep their turn.
  for (const key of keys) {
    if (follower.stopped) return;
    if (follower.retries.has(key) || follower.pending.has(key)) continue;
    const [tenant, id] = key.split('\u0000');
    await followSubscription(deps, tenant, id, new Set());
  }
}

/** One sync (see followSubscription); false when a source failed and asking again may help. */
async function syncForwards(deps: BrokerDeps, tenant: string, id: string, changed: ReadonlySet<string> | undefined): Promise<boolean> {
  const s = (await deps.store.notifications.getSubscription(tenant, id))?.subscription;
  const targets = s ? await sourcesFor(deps, tenant, s) : [];
  const made = new Map((await deps.store.registrations.forwardsOf(tenant, id)).map((f) => [f.registrationId, f]));
  const outcomes = await Promise.all([
    ...targets.map(({ r, ctx }) => {
      const forward = made.get(r.id);
      made.delete(r.id);
      if (!forward) return guarded(deps, r.endpoint, () => subscribeAt(deps, tenant, s!, r, ctx));
      if (!atSource(forward, r)) {
        // The registration now names another source, or another tenant there: moved.
        return guarded(deps, r.endpoint, async () => {
          await unsubscribeAt(deps, forward);
          await subscribeAt(deps, tenant, s!, r, ctx);
        });
      }
      // A copy the source has not confirmed since its last change (a failure, a crash) is sent again by any sync.
      const due = !changed || changed.has(r.id) || !forward.inStep;
      return due ? guarded(deps, r.endpoint, () => updateAt(deps, forward, s!, r, ctx)) : true;
    }),
    ...[...made.values()].map((f) => guarded(deps, f.remoteUrl, () => unsubscribeAt(deps, f))),
  ]);
  return outcomes.every(Boolean);
}

/** The registrations whose sources the subscription is made at, with the subscription's @context. */
async function sourcesFor(deps: BrokerDeps, tenant: string, s: Subscription): Promise<Array<{ r: Registration; ctx: ActiveContext }>> {
  if (s.localOnly || subscriptionState(s) === 'expired') return [];
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

const subscriptionsAt = (r: Registration) => `${r.endpoint.replace(/\/+$/, '')}${API_BASE}/subscriptions/`;

/** Whether the subscription made at a source is still where the registration points. */
const atSource = (f: SubscriptionForward, r: Registration) => f.remoteUrl.startsWith(subscriptionsAt(r)) && (f.remoteTenant ?? '') === (r.tenant ?? '');

/**
 * Makes the subscription at the source (again, when `made` says under
 * which id and token). It is recorded first, not in step, under an id of
 * this broker's choosing: an attempt whose answer was lost is found again
 * by it (409, or the next sync's update), and of two processes making it
 * at once one gives way. Should the subscription have been deleted while
 * the source was making it, the copy just made is deleted again.
 */
async function subscribeAt(deps: BrokerDeps, tenant: string, s: Subscription, r: Registration, ctx: ActiveContext, made?: SubscriptionForward): Promise<void> {
  let forward = made;
  if (!forward) {
    const remoteId = `urn:ngsi-ld:Subscription:${randomUUID()}`;
    const remoteUrl = `${subscriptionsAt(r)}${encodeURIComponent(remoteId)}`;
    forward = { tenant, subscriptionId: s.id, registrationId: r.id, remoteUrl, remoteTenant: r.tenant, token: randomUUID(), inStep: false };
    if (!(await deps.store.registrations.claimForward(forward))) return;
  }
  const remoteId = decodeURIComponent(forward.remoteUrl.slice(forward.remoteUrl.lastIndexOf('/') + 1));
  const res = await exchange(deps, tenant, s, r.tenant, subscriptionsAt(r).slice(0, -1), 'POST', { id: remoteId, ...copyFor(deps, s, r, ctx, forward.token) });
  await answeredAbout(deps, forward, 'creation', res.status === 201 || res.status === 409, res.status);
}

/**
 * Records what the source answered to a change of its copy: in step when it
 * took it or refused it (a refusal waits for the next change rather than
 * the next check); thrown, when it did not take it. A copy whose
 * subscription was deleted meanwhile is deleted at the source again.
 */
async function answeredAbout(deps: BrokerDeps, f: SubscriptionForward, what: string, took: boolean, status: number): Promise<void> {
  const error = took ? undefined : answered(what, status);
  if (error && !(error instanceof Refused)) throw error;
  if (!(await deps.store.registrations.markInStep(f, true))) await unsubscribeAt(deps, f);
  if (error) throw error;
}

async function updateAt(deps: BrokerDeps, f: SubscriptionForward, s: Subscription, r: Registration, ctx: ActiveContext): Promise<void> {
  if (f.inStep) await deps.store.registrations.markInStep(f, false);
  const copy = copyFor(deps, s, r, ctx, f.token);
  for (const member of REMOVABLE) if (!(member in copy)) copy[member] = null;
  const res = await exchange(deps, f.tenant, s, f.remoteTenant, f.remoteUrl, 'PATCH', copy);
  // Not there (never made, expired there, or the source was reset): made again, under the same id.
  if (res.status === 404) await subscribeAt(deps, f.tenant, s, r, ctx, f);
  else await answeredAbout(deps, f, 'update', res.ok, res.status);
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
 * its registration is. Filters and the shape of the notifications stay, so
 * that the source sends what the subscriber asked for, in the subscriber's
 * @context.
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
