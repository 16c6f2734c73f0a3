/** What the store keeps of context source registrations (5.9, 5.10). */
import type { DeliveryStatus, GeoQuery, QExpression, Registration, Subscription } from '@civitas/core';

/** The conditions of a registration query judged in SQL; the others are the caller's. */
export interface RegistrationFilters {
  geo?: GeoQuery & { propertyIri: string };
  /** csf (4.9 syntax) on the Context Source Properties. */
  csf?: { expression: QExpression; expand: (name: string) => string };
}

/** A subscription made at a Context Source on behalf of a subscription here (5.8.1.4). */
export interface SubscriptionForward {
  tenant: string;
  subscriptionId: string;
  registrationId: string;
  /** The subscription at the source, and the tenant it is in there. */
  remoteUrl: string;
  remoteTenant?: string;
  /** Names this forward in the notification endpoint the source was given. */
  token: string;
  /** The source answered the last change sent to it (creation or update); until it does, every sync sends it again. */
  inStep: boolean;
}

export interface RegistrationStore {
  /** false when a registration of that id exists. */
  createRegistration(tenant: string, registration: Registration): Promise<boolean>;
  getRegistration(tenant: string, id: string): Promise<Registration | undefined>;
  /** The live (unexpired) registrations passing the filters, oldest first. */
  queryRegistrations(tenant: string, filters?: RegistrationFilters): Promise<Registration[]>;
  /**
   * The tenant's live registrations for distributed operations, which ask on
   * every request: read at most once a second (this process's own changes
   * apply at once).
   */
  liveRegistrations(tenant: string): Promise<Registration[]>;
  /** Applies `change` to the stored registration under a lock; undefined when there is none. */
  updateRegistration(tenant: string, id: string, change: (current: Registration) => Registration): Promise<Registration | undefined>;
  deleteRegistration(tenant: string, id: string): Promise<boolean>;

  /** Subscriptions to registrations (5.11): false when one of that id exists. */
  createRegistrationSubscription(tenant: string, subscription: Subscription): Promise<boolean>;
  getRegistrationSubscription(tenant: string, id: string): Promise<{ subscription: Subscription; delivery: DeliveryStatus } | undefined>;
  /** Oldest first; `count` of all of the tenant's. */
  listRegistrationSubscriptions(tenant: string, limit: number, offset: number): Promise<{ items: Array<{ subscription: Subscription; delivery: DeliveryStatus }>; count: number }>;
  updateRegistrationSubscription(tenant: string, id: string, change: (current: Subscription) => Subscription): Promise<Subscription | undefined>;
  deleteRegistrationSubscription(tenant: string, id: string): Promise<boolean>;
  /** Counts one delivery attempt of a subscription's notification. */
  recordRegistrationNotification(tenant: string, id: string, ok: boolean, at: string): Promise<void>;

  /** The subscriptions made at sources for a subscription here. */
  forwardsOf(tenant: string, subscriptionId: string): Promise<SubscriptionForward[]>;
  /** Every subscription (tenant and id) with a subscription made for it at a source. */
  forwardedSubscriptions(): Promise<Array<{ tenant: string; subscriptionId: string }>>;
  /** The subscriptions here that were forwarded through a registration. */
  subscriptionsForwardedBy(tenant: string, registrationId: string): Promise<string[]>;
  forwardByToken(token: string): Promise<SubscriptionForward | undefined>;
  /** Records a subscription about to be made at a source; false when one is already recorded for that registration (another process made it). */
  claimForward(forward: SubscriptionForward): Promise<boolean>;
  dropForward(tenant: string, subscriptionId: string, registrationId: string): Promise<void>;
  /** Marks whether the source holds the subscription as it is; false when the forward is gone (the subscription was deleted meanwhile). */
  markInStep(forward: SubscriptionForward, inStep: boolean): Promise<boolean>;
}
