/** The stored subscription -> its representation (5.2.12), compacted with the request's @context. */
import type { ActiveContext } from '../jsonld/activeContext';
import { DeliveryStatus, Subscription, subscriptionState, WEBSOCKET_ENDPOINT } from './subscription';

export interface SubscriptionView {
  /** Add createdAt / modifiedAt (options=sysAttrs). */
  sysAttrs?: boolean;
}

export function renderSubscription(s: Subscription, delivery: DeliveryStatus, ctx: ActiveContext, view: SubscriptionView = {}): Record<string, unknown> {
  const compact = (iris: string[]) => iris.map((i) => (i === 'id' || i === 'type' ? i : ctx.compactIri(i)));
  const out: Record<string, unknown> = { id: s.id, type: 'Subscription' };
  if (s.subscriptionName !== undefined) out.subscriptionName = s.subscriptionName;
  if (s.description !== undefined) out.description = s.description;
  if (s.entities) {
    out.entities = s.entities.map((e) => ({
      ...(e.id !== undefined ? { id: e.id } : {}),
      ...(e.idPattern !== undefined ? { idPattern: e.idPattern } : {}),
      type: e.types.map((all) => all.map((t) => ctx.compactIri(t)).join(';')).join(','),
    }));
  }
  if (s.watchedAttributes) out.watchedAttributes = compact(s.watchedAttributes);
  out.notificationTrigger = s.notificationTrigger;
  if (s.timeInterval !== undefined) out.timeInterval = s.timeInterval;
  if (s.q !== undefined) out.q = s.q;
  if (s.geoQ !== undefined) out.geoQ = s.geoQ;
  if (s.csf !== undefined) out.csf = s.csf;
  if (s.scopeQ !== undefined) out.scopeQ = s.scopeQ;
  if (s.isActive !== undefined) out.isActive = s.isActive;
  if (s.localOnly !== undefined) out.localOnly = s.localOnly;
  if (s.datasetId !== undefined) out.datasetId = s.datasetId;
  if (s.expiresAt !== undefined) out.expiresAt = s.expiresAt;
  if (s.throttling !== undefined) out.throttling = s.throttling;
  if (s.lang !== undefined) out.lang = s.lang;
  const n = s.notification;
  const notification: Record<string, unknown> = {};
  if (n.attributes) notification.attributes = compact(n.attributes);
  if (n.pick) notification.pick = compact(n.pick);
  if (n.omit) notification.omit = compact(n.omit);
  if (n.format !== undefined) notification.format = n.format;
  if (n.sysAttrs !== undefined) notification.sysAttrs = n.sysAttrs;
  if (n.showChanges !== undefined) notification.showChanges = n.showChanges;
  if (n.join !== undefined) notification.join = n.join;
  if (n.joinLevel !== undefined) notification.joinLevel = n.joinLevel;
  notification.endpoint = { accept: 'application/json', ...n.endpoint };
  // Status members are absent until there is something to report (5.2.15).
  if (delivery.timesSent > 0) notification.timesSent = delivery.timesSent;
  if (delivery.timesFailed > 0) notification.timesFailed = delivery.timesFailed;
  if (delivery.status) notification.status = delivery.status;
  if (delivery.lastNotification) notification.lastNotification = delivery.lastNotification;
  if (delivery.lastSuccess) notification.lastSuccess = delivery.lastSuccess;
  if (delivery.lastFailure) notification.lastFailure = delivery.lastFailure;
  out.notification = notification;
  if (s.jsonldContext !== undefined) out.jsonldContext = s.jsonldContext;
  out.status = subscriptionState(s);
  if (view.sysAttrs) {
    out.createdAt = s.createdAt;
    out.modifiedAt = s.modifiedAt;
  }
  return out;
}

/** True when the subscription's notifications go to attached WebSocket clients. */
export const isWebSocketSubscription = (s: Subscription) => s.notification.endpoint.uri === WEBSOCKET_ENDPOINT;
