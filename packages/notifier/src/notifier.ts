/**
 * The notifier of one broker process. The changes its process commits come
 * to it at once (their outbox rows leased to it): it routes them to the
 * subscriptions they concern and sends the notifications, one queue per
 * subscription so that a slow or failing endpoint holds up only itself. A
 * change leaves the outbox once each of its notifications was sent, or, if
 * sending failed, was queued in the database for its retries; so a change
 * is always either in the outbox or queued as notifications, never lost.
 * Changes nobody holds (their process died and its leases ran out) are
 * claimed with SKIP LOCKED by whichever notifier polls next, routed, and
 * queued in the claim's transaction. Several processes on one database
 * share the work: each notification is sent by one process.
 */
import { ActiveContext, ContextSource, Subscription, subscriptionState, WEBSOCKET_ENDPOINT, withMembers } from '@civitas/core';
import type { ClaimRouter, CommittedChanges, Delivery, DeliveryOutcome, EntityQuery, Store, StoredSubscription } from '@civitas/store';
import { changeRouter, filtersOf } from './matching/router';
import { IndexedSubscription, SubscriptionIndex } from './matching/subscriptionIndex';
import { EntityNotice, linkedFor, notificationBody } from './payload';
import { HttpTransport } from './transports/http';
import { rootCertificates } from 'node:tls';
import { MqttTransport } from './transports/mqtt';
import type { Transport } from './transports/transport';
import { WebSocketHub } from './transports/webSocketHub';

export interface NotifierConfig {
  /** How long a claimed notification stays with its process before others may take it over. */
  leaseMs: number;
  /** Outbox changes claimed per transaction. */
  batchSize: number;
  /** How often to look for work nobody signalled (retries due, other processes' leftovers, periodic subscriptions). */
  pollMs: number;
  /** Time allowed to an endpoint when the subscription sets none. */
  timeoutMs: number;
  /** First retry delay; it doubles with each failure up to retryMaxMs. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** A notification still failing after this long is dropped (logged and counted). */
  maxAgeMs: number;
  /** Most entities in one initial or periodic notification. */
  maxEntitiesPerNotification: number;
  /** How long an attempt's outcome waits to be recorded with those that follow it (one statement records them all). */
  recordDelayMs: number;
  /**
   * Certificate authorities (PEM) that HTTPS and MQTTS endpoints' certificates are checked against, besides Node.js's
   * bundled ones: for endpoints inside a city's network whose certificates its own authority signs.
   */
  trustedCa?: string;
}

export const DEFAULT_NOTIFIER_CONFIG: NotifierConfig = {
  leaseMs: 30_000,
  batchSize: 500,
  pollMs: 500,
  timeoutMs: 10_000,
  retryBaseMs: 1_000,
  retryMaxMs: 300_000,
  maxAgeMs: 24 * 3_600_000,
  maxEntitiesPerNotification: 1_000,
  recordDelayMs: 10,
};

export interface NotifierDeps {
  store: Store;
  resolveContext: (source: ContextSource | undefined) => Promise<ActiveContext>;
  /** Makes a context URL the broker serves (relative) absolute, for Link headers. */
  absoluteUrl: (url: string) => string;
  log: { info(message: string): void; error(error: unknown): void };
}

export interface NotifierStats {
  sent: number;
  failed: number;
  /** Notifications given up after maxAgeMs, or whose subscription disappeared. */
  dropped: number;
}

interface Queue {
  items: Delivery[];
  running: boolean;
}

export class Notifier {
  readonly hub = new WebSocketHub();
  readonly stats: NotifierStats = { sent: 0, failed: 0, dropped: 0 };
  /** Names this process in its leases (outbox changes and queued deliveries). */
  private readonly owner: string;
  private readonly config: NotifierConfig;
  private readonly http: HttpTransport;
  private readonly mqtt: MqttTransport;
  private index = new SubscriptionIndex();
  private revision = -1;
  private readonly queues = new Map<string, Queue>();
  /** Subscriptions with a cooldown whose endpoint failed here: when the failed notification is tried again (epoch ms). */
  private readonly coolingUntil = new Map<string, number>();
  private outcomes: DeliveryOutcome[] = [];
  /** Changes routed here, with how many of their notifications are not yet recorded as sent or queued. */
  private readonly pendingChanges = new Map<number, number>();
  /** Changes whose notifications are all recorded: they leave the outbox with the next outcomes. */
  private settledChanges: number[] = [];
  /** Committed changes are routed one batch after the other, so that notifications keep the order of the changes. */
  private routing: Promise<void> = Promise.resolve();
  /** Subscriptions (tenant and id) whose outcomes are being written. */
  private recording = new Set<string>();
  private flushing = false;
  private flushTimer?: NodeJS.Timeout;
  private pumping = false;
  private pumpAgain = false;
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe?: () => void;
  private stopped = false;
  /** Deliveries in flight or queued here, so that a stop can wait for them. */
  private inFlight = 0;

  constructor(
    private readonly deps: NotifierDeps,
    config: Partial<NotifierConfig> = {},
  ) {
    this.config = { ...DEFAULT_NOTIFIER_CONFIG, ...config };
    this.owner = deps.store.notifications.leaseOwner;
    const trusted = trustedAuthorities(this.config.trustedCa);
    this.http = new HttpTransport(deps.absoluteUrl, trusted);
    this.mqtt = new MqttTransport(deps.absoluteUrl, trusted);
    this.hub.onAttach(() => this.poll());
  }

  async start(): Promise<void> {
    await this.refreshIndex();
    this.unsubscribe = this.deps.store.notifications.onCommitted((committed) => this.take(committed), this.config.leaseMs);
    this.timers.push(setInterval(() => this.poll(), this.config.pollMs));
    this.timers.push(setInterval(() => this.renewLeases(), Math.max(1000, this.config.leaseMs / 3)));
    this.poll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.flushTimer);
    const deadline = Date.now() + 5_000;
    await atMost(this.routing, 5_000);
    while ((this.inFlight > 0 || this.pumping || this.flushing) && Date.now() < deadline) await sleep(20);
    await this.flush();
    await Promise.all([this.http.close(), this.mqtt.close(), this.hub.close()]);
  }

  /**
   * Waits, at most `maxMs`, until this process has nothing in flight or
   * unrecorded for a subscription: a read of its status right after a
   * notification arrived then sees that attempt.
   */
  async settled(tenant: string, subscriptionId: string, maxMs = 250): Promise<void> {
    const k = queueKey(tenant, subscriptionId);
    const deadline = Date.now() + maxMs;
    const busy = () => this.queues.has(k) || this.recording.has(k) || this.outcomes.some((o) => queueKey(o.delivery.tenant, o.delivery.subscriptionId) === k);
    while (busy() && Date.now() < deadline) await sleep(5);
  }

  /** Sends the entities that match a subscription now (5.8.1: on creation; 5.2.12: each timeInterval). */
  async notifyCurrentState(tenant: string, subscriptionId: string): Promise<void> {
    await this.refreshIndex();
    const s = this.index.get(tenant, subscriptionId);
    if (!s || subscriptionState(s.subscription) !== 'active') return;
    const { entities } = await this.deps.store.queryEntities(tenant, this.currentStateQuery(s));
    if (entities.length === 0) return;
    const notices: EntityNotice[] = entities.map((entity) => ({ entity }));
    const linked = await linkedFor(s, notices, async (ids) => (await this.deps.store.queryEntities(tenant, { ids, limit: ids.length, offset: 0 })).entities);
    await this.send(tenant, subscriptionId, notificationBody(s, notices, linked));
  }

  /** Sends a notification of a subscription, queued first: once this resolves, a crash cannot lose it. */
  async send(tenant: string, subscriptionId: string, notification: Record<string, unknown>): Promise<void> {
    this.dispatch(await this.deps.store.notifications.enqueue([{ tenant, subscriptionId, notification }], this.owner, this.config.leaseMs));
  }

  private currentStateQuery(s: IndexedSubscription): EntityQuery {
    const sub = s.subscription;
    const query: EntityQuery = { ...filtersOf(s), limit: this.config.maxEntitiesPerNotification, offset: 0 };
    if (sub.entities) query.anyOf = sub.entities.map(({ id, idPattern, types }) => ({ id, idPattern, types }));
    if (sub.watchedAttributes) query.attrs = sub.watchedAttributes;
    return query;
  }

  /** Changes this process committed: routed after those before them. */
  private take(committed: CommittedChanges): void {
    this.routing = this.routing.then(() => this.routeCommitted(committed)).catch((e) => this.deps.log.error(e));
  }

  /**
   * Routes committed changes and sends their notifications. Should routing
   * fail, the changes stay in the outbox, leased here until the lease runs
   * out; then a poll claims them.
   */
  private async routeCommitted({ changes, revision }: CommittedChanges): Promise<void> {
    if (this.stopped) return;
    // The write saw subscriptions newer than those loaded here: they are loaded before its changes are matched.
    if (revision > this.revision) await this.refreshIndex();
    const deliveries = await changeRouter(() => this.index)(changes, this.deps.store.notifications.routingTools());
    for (const c of changes) this.pendingChanges.set(c.seq, 0);
    for (const d of deliveries) this.pendingChanges.set(d.seq!, this.pendingChanges.get(d.seq!)! + 1);
    for (const c of changes) if (this.pendingChanges.get(c.seq) === 0) this.settleChange(c.seq);
    const committedAt = new Map(changes.map((c) => [c.seq, c.changedAt]));
    this.dispatch(deliveries.map((d) => withMembers(d, { attempts: 0, createdAt: committedAt.get(d.seq!)! })));
  }

  /** A change whose notifications are all sent or queued: it leaves the outbox with the next recorded outcomes. */
  private settleChange(seq: number): void {
    this.pendingChanges.delete(seq);
    this.settledChanges.push(seq);
    this.scheduleFlush();
  }

  /** Claims and routes the changes nobody holds. Runs one drain at a time; a call during one makes it go round again. */
  pump(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void (async () => {
      try {
        do {
          this.pumpAgain = false;
          // The claim tells the revision of the subscriptions: they are read again only when it moved.
          const byIndex = changeRouter(() => this.index);
          const route: ClaimRouter = async (changes, tools, subscriptions) => {
            if (subscriptions.revision !== this.revision) await this.useSubscriptions(subscriptions.revision, await subscriptions.load());
            return byIndex(changes, tools);
          };
          for (;;) {
            const { claimed, queued } = await this.deps.store.notifications.processChanges(this.config.batchSize, this.owner, this.config.leaseMs, route);
            this.dispatch(queued);
            if (claimed < this.config.batchSize) break;
          }
        } while (this.pumpAgain && !this.stopped);
      } catch (e) {
        this.deps.log.error(e);
      } finally {
        this.pumping = false;
      }
    })();
  }

  /** Periodic work: outbox changes nobody holds (left by processes that died), retries that are due, timeInterval subscriptions. */
  private poll(): void {
    if (this.stopped) return;
    this.pump();
    void (async () => {
      try {
        const due = await this.deps.store.notifications.claimDue(this.config.batchSize, this.owner, this.config.leaseMs);
        this.dispatch(due);
        const periodic = await this.deps.store.notifications.claimPeriodic(new Date());
        for (const p of periodic) await this.notifyCurrentState(p.tenant, p.subscription.id);
      } catch (e) {
        if (!this.stopped) this.deps.log.error(e);
      }
    })();
  }

  private async renewLeases(): Promise<void> {
    try {
      await this.deps.store.notifications.renewLeases(this.owner, this.config.leaseMs);
    } catch (e) {
      this.deps.log.error(e);
    }
  }

  /** Reloads the subscriptions when any changed (in this process or another). */
  private async refreshIndex(): Promise<void> {
    const revision = await this.deps.store.notifications.subscriptionRevision();
    if (revision === this.revision) return;
    const loaded = await this.deps.store.notifications.loadSubscriptions();
    await this.useSubscriptions(loaded.revision, loaded.all);
  }

  private async useSubscriptions(revision: number, all: StoredSubscription[]): Promise<void> {
    this.index = await SubscriptionIndex.build(all, (s) => this.contextOf(s), (e) => this.deps.log.error(e));
    this.revision = revision;
    // Deleted subscriptions' endpoints cool down no more.
    for (const k of this.coolingUntil.keys()) {
      const [tenant, id] = k.split('\u0000');
      if (!this.index.get(tenant, id)) this.coolingUntil.delete(k);
    }
  }

  private contextOf(s: Subscription): Promise<ActiveContext> {
    return this.deps.resolveContext(s.jsonldContext ?? s.context);
  }

  private dispatch(deliveries: Delivery[]): void {
    for (const d of deliveries) {
      const k = queueKey(d.tenant, d.subscriptionId);
      let queue = this.queues.get(k);
      if (!queue) {
        queue = { items: [], running: false };
        this.queues.set(k, queue);
      }
      queue.items.push(d);
      this.inFlight += 1;
      if (!queue.running) void this.drain(k, queue);
    }
  }

  /** Sends a subscription's notifications one after the other, in the order they were queued. */
  private async drain(k: string, queue: Queue): Promise<void> {
    queue.running = true;
    while (queue.items.length > 0) {
      const d = queue.items.shift()!;
      try {
        await this.deliver(d);
      } finally {
        this.inFlight -= 1;
      }
    }
    queue.running = false;
    this.queues.delete(k);
  }

  private async deliver(d: Delivery): Promise<void> {
    if (this.index.get(d.tenant, d.subscriptionId) === undefined) await this.refreshIndex().catch((e) => this.deps.log.error(e));
    const s = this.index.get(d.tenant, d.subscriptionId);
    if (!s) {
      // Deleted (its queued notifications went with it) or its context cannot be loaded.
      this.stats.dropped += 1;
      this.record({ delivery: d, ok: false, at: new Date().toISOString() });
      return;
    }
    const endpoint = s.subscription.notification.endpoint;
    const k = queueKey(d.tenant, d.subscriptionId);
    // Most subscriptions set no cooldown: their deliveries take no detour.
    const holdUntil = endpoint.cooldown === undefined ? this.forgetCooldown(k) : await this.cooldownHold(d, k, endpoint.cooldown);
    if (holdUntil !== undefined) {
      this.record(this.retryOrDrop({ delivery: d, ok: false, at: new Date().toISOString(), held: true }, holdUntil));
      return;
    }
    const target = { tenant: d.tenant, subscription: s.subscription, ctx: s.ctx };
    let ok = true;
    try {
      await this.transportFor(endpoint.uri).send(target, d.notification, endpoint.timeout ?? this.config.timeoutMs);
    } catch (e) {
      ok = false;
      this.deps.log.info(`Notification ${String(d.notification.id)} of ${d.subscriptionId} to ${endpoint.uri} failed: ${(e as Error).message}`);
    }
    if (endpoint.uri !== WEBSOCKET_ENDPOINT) await this.hub.mirror(d.tenant, d.subscriptionId, d.notification);
    const at = new Date();
    const outcome: DeliveryOutcome = { delivery: d, ok, at: at.toISOString() };
    if (ok) {
      this.stats.sent += 1;
      this.coolingUntil.delete(k);
      this.record(outcome);
      return;
    }
    this.stats.failed += 1;
    const backoff = Math.min(this.config.retryBaseMs * 2 ** d.attempts, this.config.retryMaxMs);
    const retryAt = at.getTime() + Math.max(backoff, endpoint.cooldown ?? 0, 1);
    // Those held meanwhile wait for this one's retry, and go after it.
    if (endpoint.cooldown !== undefined) this.coolingUntil.set(k, retryAt);
    this.record(this.retryOrDrop(outcome, retryAt));
  }

  /**
   * When to send `d` instead of now, if its subscription sets a cooldown
   * (5.2.15) and its endpoint failed less than that long ago. The spec has
   * no notification sent in that time; they are held, not dropped, and sent
   * in order once it has passed. A failure met here holds until its
   * notification's retry; one another process met, read from the
   * subscription's lastFailure, for the cooldown. Right after, new
   * notifications still wait (briefly) for those held before them, until
   * the polls have claimed those.
   */
  private async cooldownHold(d: Delivery, k: string, cooldown: number): Promise<number | undefined> {
    let resumeAt = this.coolingUntil.get(k);
    if (resumeAt === undefined) {
      const lastFailure = (await this.deps.store.notifications.getSubscription(d.tenant, d.subscriptionId))?.delivery.lastFailure;
      if (lastFailure === undefined) return undefined;
      resumeAt = Date.parse(lastFailure) + cooldown;
    }
    const now = Date.now();
    if (now < resumeAt) return resumeAt;
    if (d.id === undefined && now < resumeAt + 2 * this.config.pollMs) return now;
    this.coolingUntil.delete(k);
    return undefined;
  }

  /** A subscription whose cooldown was removed: its endpoint cools down no more. */
  private forgetCooldown(k: string): undefined {
    if (this.coolingUntil.size > 0) this.coolingUntil.delete(k);
    return undefined;
  }

  /** The outcome with its next attempt at `retryAt`, or dropped (logged and counted) when that is past the notification's age limit. */
  private retryOrDrop(outcome: DeliveryOutcome, retryAt: number): DeliveryOutcome {
    const d = outcome.delivery;
    if (retryAt - Date.parse(d.createdAt) <= this.config.maxAgeMs) return { ...outcome, retryAt: new Date(retryAt) };
    this.stats.dropped += 1;
    this.deps.log.error(new Error(`Notification ${String(d.notification.id)} of ${d.subscriptionId} dropped after ${d.attempts + (outcome.held ? 0 : 1)} attempts`));
    return outcome;
  }

  private transportFor(uri: string): Transport {
    if (uri === WEBSOCKET_ENDPOINT) return this.hub;
    return /^mqtts?:/i.test(uri) ? this.mqtt : this.http;
  }

  /** Outcomes are written in batches: those of the next recordDelayMs, and whatever accumulates while a batch is being written. */
  private record(outcome: DeliveryOutcome): void {
    this.outcomes.push(outcome);
    const seq = outcome.delivery.seq;
    if (outcome.delivery.id === undefined && seq !== undefined) {
      // Its change settles in the same statement as this outcome, or a later one.
      const left = (this.pendingChanges.get(seq) ?? 1) - 1;
      if (left === 0) this.settleChange(seq);
      else this.pendingChanges.set(seq, left);
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushing || this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, this.config.recordDelayMs);
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.outcomes.length > 0 || this.settledChanges.length > 0) {
        const batch = this.outcomes;
        const settled = this.settledChanges;
        this.outcomes = [];
        this.settledChanges = [];
        this.recording = new Set(batch.map((o) => queueKey(o.delivery.tenant, o.delivery.subscriptionId)));
        try {
          await this.deps.store.notifications.recordOutcomes(batch, settled);
          this.recording.clear();
        } catch (e) {
          this.recording.clear();
          // Kept for the next attempt: until recorded, the deliveries and changes stay leased to this process.
          this.outcomes.unshift(...batch);
          this.settledChanges.unshift(...settled);
          this.deps.log.error(e);
          if (this.stopped) break;
          await sleep(1000);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}

const queueKey = (tenant: string, subscriptionId: string) => `${tenant}\u0000${subscriptionId}`;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits for `promise`, `ms` at most; the timer goes with it, so that it keeps no stopped process alive. */
async function atMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Node.js's bundled certificate authorities and those given; undefined (the TLS default) when none is given. */
function trustedAuthorities(pem: string | undefined): string[] | undefined {
  return pem ? [...rootCertificates, pem] : undefined;
}
