/**
 * Where Context Sources send the notifications of the subscriptions this
 * broker made at them (see subscriptionForwarding): each is passed on, as
 * a notification of the subscription it was made for (5.8.6), once queued,
 * so that it is delivered and retried like any other; a source whose
 * notification could not be queued hears an error and sends it again.
 */
import { randomUUID } from 'node:crypto';
import { badRequest, NgsiError, notFound, nowIso, subscriptionState } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import type { ApiHandler } from '../http/apiRequest';
import { parseJson } from '../http/jsonBody';
import { bodyType, GEO_JSON, JSON_TYPE, LD_JSON } from '../http/mediaTypes';
import { sendNoContent } from '../http/respond';

/** Under API_BASE; the token names the subscription made at a source, and is known only to it. */
export const FORWARDED_NOTIFICATIONS_ROUTE = '/remoteNotifications/:token';

/** A subscription asking for GeoJSON is made at sources asking for it too. */
const NOTIFICATION_TYPES = new Set([JSON_TYPE, LD_JSON, GEO_JSON]);

export const forwardedNotificationHandler =
  (deps: BrokerDeps): ApiHandler =>
  async (req, res) => {
    const type = bodyType(req.headers['content-type']);
    if (!type || !NOTIFICATION_TYPES.has(type)) throw new NgsiError('UnsupportedMediaType', `A notification is JSON, JSON-LD or GeoJSON, not ${type ?? 'untyped'}`);
    const forward = await deps.store.registrations.forwardByToken(req.params.token);
    if (!forward) throw notFound('No subscription is made at a context source under this address');
    const body = parseJson(req.body, deps.config.maxBodyDepth) as Record<string, unknown> | null;
    const data = body?.data;
    if (body?.type !== 'Notification' || typeof data !== 'object' || data === null) throw badRequest('A Notification with data is expected');
    const here = await deps.store.notifications.getSubscription(forward.tenant, forward.subscriptionId);
    if (!here) throw notFound(`Subscription ${forward.subscriptionId} does not exist`);
    const state = subscriptionState(here.subscription);
    if (state !== 'active') {
      // Its copy at the source is paused or expired with it; one sent meanwhile is not for the subscriber.
      deps.log.info(`A context source's notification for ${forward.subscriptionId} (${state}) was not passed on`);
    } else {
      const notification = { id: `urn:ngsi-ld:Notification:${randomUUID()}`, type: 'Notification', subscriptionId: forward.subscriptionId, notifiedAt: nowIso(), data };
      await deps.notifier.send(forward.tenant, forward.subscriptionId, notification);
    }
    sendNoContent(res);
  };
