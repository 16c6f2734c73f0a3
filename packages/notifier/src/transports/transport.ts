/** How a notification reaches a subscriber: one transport per kind of endpoint. */
import { ActiveContext, Subscription, withMembers } from '@civitas/core';

export interface DeliveryTarget {
  tenant: string;
  subscription: Subscription;
  /** The subscription's @context, for the Link header or the body's @context. */
  ctx: ActiveContext;
}

export interface Transport {
  /** Resolves once the endpoint has accepted the notification; rejects with the reason otherwise. */
  send(target: DeliveryTarget, notification: Record<string, unknown>, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The headers (HTTP) or metadata (MQTT) of a notification and its body
 * (5.3.1, 6.3.14): the @context travels in a Link header for JSON and in
 * the body for JSON-LD and GeoJSON.
 */
export function envelope(
  target: DeliveryTarget,
  notification: Record<string, unknown>,
  absoluteUrl: (url: string) => string,
): { headers: Record<string, string>; body: Record<string, unknown> } {
  const accept = target.subscription.notification.endpoint.accept ?? 'application/json';
  const headers: Record<string, string> = { 'Content-Type': accept };
  let body = notification;
  if (accept === 'application/json') {
    headers.Link = `<${absoluteUrl(target.ctx.linkUrl)}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`;
  } else {
    // The @context on the notification and on each entity, so that every entity can be read on its own.
    const context = target.ctx.responseContext;
    const data = Array.isArray(notification.data) ? notification.data.map((e) => withMembers(e as object, { '@context': context })) : notification.data;
    body = withMembers(notification, { data, '@context': context });
  }
  if (target.tenant !== '') headers['NGSILD-Tenant'] = target.tenant;
  for (const { key, value } of target.subscription.notification.endpoint.receiverInfo ?? []) headers[key] = value;
  return { headers, body };
}
