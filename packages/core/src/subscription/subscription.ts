/**
 * The stored form of an NGSI-LD subscription (5.2.12). Names (entity types,
 * watched and notified attributes) are expanded IRIs, like entities; the
 * filters keep their text and are expanded with the subscription's own
 * @context whenever they are evaluated, since that context is what the
 * subscriber wrote them in.
 */
import type { ContextSource } from '../jsonld/activeContext';
import type { Format } from '../model/render';
import type { JoinMode } from '../model/join';

export const NOTIFICATION_TRIGGERS = [
  'entityCreated',
  'entityUpdated',
  'entityDeleted',
  'attributeCreated',
  'attributeUpdated',
  'attributeDeleted',
] as const;
export type NotificationTrigger = (typeof NOTIFICATION_TRIGGERS)[number];

/** 5.2.12: what a subscription notifies when it names no trigger. */
export const DEFAULT_TRIGGERS: NotificationTrigger[] = ['attributeCreated', 'attributeUpdated'];

export const NOTIFICATION_MEDIA_TYPES = ['application/json', 'application/ld+json', 'application/geo+json'] as const;
export type NotificationMediaType = (typeof NOTIFICATION_MEDIA_TYPES)[number];

/**
 * The endpoint URI of subscriptions whose notifications go to the WebSocket
 * clients attached to them rather than to a server of the subscriber's.
 */
export const WEBSOCKET_ENDPOINT = 'urn:civitas:websocket';

export interface KeyValue {
  key: string;
  value: string;
}

export interface Endpoint {
  uri: string;
  accept?: NotificationMediaType;
  /** Milliseconds before a delivery attempt is given up (5.2.15). */
  timeout?: number;
  /**
   * Milliseconds after a failed attempt in which the endpoint is sent nothing
   * (5.2.15). The notifications of that time are held, not dropped: they
   * go once it has passed.
   */
  cooldown?: number;
  /** Extra headers (HTTP) or user properties (MQTT) of every notification. */
  receiverInfo?: KeyValue[];
  /** Settings of the notifier itself, such as MQTT-QoS and MQTT-Version (7.2). */
  notifierInfo?: KeyValue[];
}

export interface EntitySelector {
  id?: string;
  idPattern?: string;
  /** The type (or type expression, 4.17) as the subscriber wrote it. */
  type: string;
  /** The same, expanded: an OR of ANDs of type IRIs. */
  types: string[][];
}

export interface NotificationParams {
  /** Expanded IRIs of the attributes to send; undefined sends all. */
  attributes?: string[];
  /** pick / omit (4.21): expanded IRIs, or `id` / `type` themselves. */
  pick?: string[];
  omit?: string[];
  /** As given; absent means normalized, without system attributes or previous values. */
  format?: Format;
  sysAttrs?: boolean;
  showChanges?: boolean;
  /** Linked entities (4.5.23) to add, and how many hops to follow (default 1). */
  join?: JoinMode;
  joinLevel?: number;
  endpoint: Endpoint;
}

export interface GeoQueryText {
  geometry: string;
  coordinates: string | unknown[];
  georel: string;
  geoproperty?: string;
}

export interface Subscription {
  id: string;
  subscriptionName?: string;
  description?: string;
  entities?: EntitySelector[];
  /** Expanded IRIs. */
  watchedAttributes?: string[];
  notificationTrigger: NotificationTrigger[];
  /** Seconds between periodic notifications. */
  timeInterval?: number;
  q?: string;
  geoQ?: GeoQueryText;
  /** Registrations whose Context Sources are also subscribed to (4.9 syntax on their properties); the others are not. */
  csf?: string;
  scopeQ?: string;
  /** Only the entities stored here: nothing is subscribed to at Context Sources (5.5.13). */
  localOnly?: boolean;
  /**
   * The brokers (Context Source ids of the Via header, 4.3.6.5) the request
   * that made the subscription came through, when another broker made it
   * here on behalf of its own: none of them is subscribed to in turn.
   */
  via?: string[];
  /** As given; absent means active. */
  isActive?: boolean;
  expiresAt?: string;
  /** Seconds that must pass between two notifications. */
  throttling?: number;
  lang?: string;
  /** Only these attribute instances are notified (`@none` is the default instance). */
  datasetId?: string[];
  notification: NotificationParams;
  /** A context URL the subscriber asked notifications to use. */
  jsonldContext?: string;
  /** The @context of the request that created the subscription: it expands the filters and compacts notifications. */
  context?: ContextSource;
  createdAt: string;
  modifiedAt: string;
}

/** What the broker records of the deliveries of a subscription (5.2.14, 5.2.15). */
export interface DeliveryStatus {
  timesSent: number;
  timesFailed: number;
  lastNotification?: string;
  lastSuccess?: string;
  lastFailure?: string;
  /** The outcome of the last attempt; undefined before the first. */
  status?: 'ok' | 'failed';
}

export type SubscriptionState = 'active' | 'paused' | 'expired';

/** A q in a payload is often written as in a URL (`name=="Eiffel%20Tower"`); peers decode it, and so does Civitas. */
export function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** 5.2.12: `status` is derived, never stored. */
export function subscriptionState(s: Subscription, now = Date.now()): SubscriptionState {
  if (s.expiresAt !== undefined && Date.parse(s.expiresAt) <= now) return 'expired';
  return s.isActive === false ? 'paused' : 'active';
}
