/**
 * What the subscription API and the notifier need from the database:
 * subscriptions with their delivery status, the change outbox, and the
 * durable queue of notifications on their way to an endpoint.
 */
import type { DeliveryStatus, StoredEntity, Subscription } from '@civitas/core';
import type { EntityQuery } from './store';

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
}

export interface Delivery extends NewDelivery {
  id: string;
  /** Attempts made before this one. */
  attempts: number;
  /** When the delivery was queued (ISO 8601): retries stop once it is too old. */
  createdAt: string;
}

/** The result of one delivery attempt. */
export interface DeliveryOutcome {
  delivery: Delivery;
  ok: boolean;
  /** When the attempt ended (ISO 8601). */
  at: string;
  /** Failed: when to try again; undefined gives up (the notification is dropped). */
  retryAt?: Date;
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

export interface ChangeRouter {
  (changes: EntityChange[], tools: { filter: EntityFilter; throttle: ThrottleGate; load: EntityLoader; subscriptions: SubscriptionsAtClaim }): Promise<NewDelivery[]>;
}

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
   * Claims up to `limit` outbox changes (rows other processes hold are
   * skipped), lets `route` turn them into notifications, and in the same
   * transaction queues those, leased to `owner`, and removes the changes.
   */
  processChanges(limit: number, owner: string, leaseMs: number, route: ChangeRouter): Promise<{ claimed: number; queued: Delivery[] }>;
  /** Queues notifications leased to `owner` (initial and periodic notifications). */
  enqueue(deliveries: NewDelivery[], owner: string, leaseMs: number): Promise<Delivery[]>;
  /** Claims queued notifications whose lease ran out (failed ones waiting to retry, or those of a process that died). */
  claimDue(limit: number, owner: string, leaseMs: number): Promise<Delivery[]>;
  /** Extends the leases `owner` holds, so that other processes leave its deliveries alone. */
  renewLeases(owner: string, leaseMs: number): Promise<void>;
  /** Records attempts: successes leave the queue, failures wait for their retry, and the subscriptions' status follows. */
  recordOutcomes(outcomes: DeliveryOutcome[]): Promise<void>;
  /** Periodic subscriptions (timeInterval) whose time has come; each is granted to one caller only. */
  claimPeriodic(now: Date): Promise<StoredSubscription[]>;


  /** Called whenever changes may be waiting: committed here, or signalled by another process. */
  onChanges(listener: () => void): () => void;
}
