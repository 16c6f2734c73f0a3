/**
 * What the subscription API and the notifier need from the database:
 * subscriptions with their delivery status, the change outbox, and the
 * durable queue of notifications on their way to an endpoint.
 */
import type { DeliveryStatus, StoredEntity, Subscription } from '@civitas/core';
import type { EntityQuery } from './store';
import type { CommittedChanges } from './changeFeed';

/** One committed entity change, as the outbox recorded it. */
export interface EntityChange {
  seq: number;
  tenant: string;
  entityId: string;
  /** The entity before the change; undefined when it was created. */
  before?: StoredEntity;
  /** The entity after the change; undefined when it was deleted. */
  after?: StoredEntity;
  /** When the change was committed (ISO 8601). */
  changedAt: string;
}

export interface StoredSubscription {
  tenant: string;
  subscription: Subscription;
  delivery: DeliveryStatus;
}

/** A notification to send (its body is final: rendered when the change was matched). */
export interface NewDelivery {
  tenant: string;
  subscriptionId: string;
  notification: Record<string, unknown>;
  /** The outbox change it was made from, when it was routed straight from a change its process committed. */
  seq?: number;
}

export interface Delivery extends NewDelivery {
  /** Its row in the delivery queue; undefined for one sent straight from its change, which is queued only if it fails. */
  id?: string;
  /** Attempts made before this one. */
  attempts: number;
  /** When the delivery was queued, or its change committed (ISO 8601): retries stop once it is too old. */
  createdAt: string;
}

/** The result of one delivery attempt. */
export interface DeliveryOutcome {
  delivery: Delivery;
  ok: boolean;
  /** When the attempt ended (ISO 8601). */
  at: string;
  /** Failed or held: when to try again; undefined gives up (the notification is dropped). */
  retryAt?: Date;
  /**
   * Not attempted: its endpoint is cooling down after a failure (5.2.15
   * cooldown). It waits in the queue until retryAt, its attempts and the
   * subscription's status untouched.
   */
  held?: boolean;
}

/** Which of the given entity states (by position) match a subscription's filters (q, geoQ, scopeQ). */
export type EntityFilter = (tenant: string, states: StoredEntity[], query: Omit<EntityQuery, 'limit' | 'offset'>) => Promise<Set<number>>;

/** Grants a throttled subscription its next notification, or refuses when its period has not passed. */
export type ThrottleGate = (tenant: string, subscriptionId: string, seconds: number, now: Date) => Promise<boolean>;

/** Reads the entities with the given ids that exist (linked entities of a join). */
export type EntityLoader = (tenant: string, ids: string[]) => Promise<StoredEntity[]>;

/** The subscriptions as the claim of changes saw them: their revision then, and a read of them in the same transaction. */
export interface SubscriptionsAtClaim {
  revision: number;
  load(): Promise<StoredSubscription[]>;
}

/** What routing changes into notifications needs from the database. */
export interface RoutingTools {
  filter: EntityFilter;
  throttle: ThrottleGate;
  load: EntityLoader;
}

/** Turns changes into the notifications they cause. */
export type ChangeRouter = (changes: EntityChange[], tools: RoutingTools) => Promise<NewDelivery[]>;

/** The router of claimed changes, which also sees the subscriptions as the claim saw them. */
export type ClaimRouter = (changes: EntityChange[], tools: RoutingTools, subscriptions: SubscriptionsAtClaim) => Promise<NewDelivery[]>;

export interface NotificationStore {
  createSubscription(tenant: string, s: Subscription): Promise<void>;
  getSubscription(tenant: string, id: string): Promise<StoredSubscription | undefined>;
  listSubscriptions(tenant: string, limit: number, offset: number): Promise<{ items: StoredSubscription[]; count: number }>;
  /** Replaces the definition under a row lock; `change` sees the current one. Undefined when there is none. */
  updateSubscription(tenant: string, id: string, change: (current: Subscription) => Subscription): Promise<Subscription | undefined>;
  deleteSubscription(tenant: string, id: string): Promise<boolean>;

  /** Every subscription of every tenant, and the revision they were read at. */
  loadSubscriptions(): Promise<{ revision: number; all: StoredSubscription[] }>;
  /** Changes whenever any subscription is created, changed or deleted. */
  subscriptionRevision(): Promise<number>;

  /**
   * Claims up to `limit` outbox changes that no notifier holds (written
   * without a lease, or whose lease ran out), lets `route` turn them into
   * notifications, and in the same transaction queues those, leased to
   * `owner`, and removes the changes.
   */
  processChanges(limit: number, owner: string, leaseMs: number, route: ClaimRouter): Promise<{ claimed: number; queued: Delivery[] }>;
  /** The tools routing changes outside a claim: on their own statements. */
  routingTools(): RoutingTools;
  /** Queues notifications leased to `owner` (initial and periodic notifications). */
  enqueue(deliveries: NewDelivery[], owner: string, leaseMs: number): Promise<Delivery[]>;
  /** Claims queued notifications whose lease ran out (failed ones waiting to retry, or those of a process that died). */
  claimDue(limit: number, owner: string, leaseMs: number): Promise<Delivery[]>;
  /** Extends the leases `owner` holds (outbox changes and deliveries), so that other processes leave them alone. */
  renewLeases(owner: string, leaseMs: number): Promise<void>;
  /**
   * Records attempts: successes leave the queue, failures wait for their
   * retry (queued now if they were sent straight from their change), and
   * the subscriptions' status follows; `settledChanges`, whose
   * notifications are all sent or queued, leave the outbox.
   */
  recordOutcomes(outcomes: DeliveryOutcome[], settledChanges?: number[]): Promise<void>;
  /** Periodic subscriptions (timeInterval) whose time has come; each is granted to one caller only. */
  claimPeriodic(now: Date): Promise<StoredSubscription[]>;


  /**
   * Hands `deliver` the changes this process commits, their outbox rows
   * leased to it for `leaseMs` (see ChangeFeed); `owner` of those leases is
   * the feed's. Returns the way to stop.
   */
  onCommitted(deliver: (committed: CommittedChanges) => void, leaseMs: number): () => void;
  /** The name the leases of this process's outbox rows carry (renewLeases takes them with its own). */
  readonly leaseOwner: string;
}
