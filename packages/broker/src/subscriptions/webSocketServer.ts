/**
 * Notifications over WebSocket, for clients that cannot run a server of
 * their own (the dashboard, browsers). A client connects to
 * `ws://<broker>/ngsi-ld/ws` (tenant in the NGSILD-Tenant header or the
 * `tenant` query parameter) and sends JSON messages:
 *
 *   {"action": "attach", "subscriptionId": "urn:..."}
 *       receive the notifications of an existing subscription, besides its endpoint;
 *   {"action": "create", "subscription": {...}}
 *       create a subscription (its @context inside, or the core context) and
 *       attach to it; without an endpoint it is delivered here only, and its
 *       notifications wait, retried, while no client is attached.
 *
 * The broker answers {"type": "attached" | "created", "subscriptionId"} or
 * {"type": "error", "errorType": <ProblemDetails type>, "title", "detail", ...}, then sends each Notification as it is.
 */
import type { IncomingMessage, Server } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { ContextSource, NgsiError, nowIso, parseSubscription, WEBSOCKET_ENDPOINT } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import { toNgsiError } from '../http/problem';

export const WEBSOCKET_PATH = '/ngsi-ld/ws';
const TENANT = /^[A-Za-z0-9_\-]{1,64}$/;

export function attachWebSocketServer(server: Server, deps: BrokerDeps): WebSocketServer {
  const wss = new WebSocketServer({ server, path: WEBSOCKET_PATH, maxPayload: deps.config.maxBodyBytes });
  wss.on('connection', (socket, req) => {
    const tenant = tenantOf(req);
    // One message at a time, so that replies come in the order of the requests.
    let previous = Promise.resolve();
    socket.on('message', (data) => {
      previous = previous.then(() =>
        handle(deps, socket, tenant, data.toString()).catch((e) => {
          const problem = toNgsiError(e, deps.log.error).toProblem();
          reply(socket, { ...problem, type: 'error', errorType: problem.type });
        }),
      );
    });
  });
  return wss;
}

function tenantOf(req: IncomingMessage): string | undefined {
  const header = req.headers['ngsild-tenant'];
  const fromQuery = new URL(req.url ?? '/', 'http://localhost').searchParams.get('tenant');
  const tenant = (Array.isArray(header) ? header[0] : header) ?? fromQuery ?? '';
  return TENANT.test(tenant) || tenant === '' ? tenant : undefined;
}

async function handle(deps: BrokerDeps, socket: WebSocket, tenant: string | undefined, text: string): Promise<void> {
  if (tenant === undefined) throw new NgsiError('BadRequestData', 'The tenant must be 1 to 64 letters, digits, _ or -');
  let message: Record<string, unknown>;
  try {
    message = JSON.parse(text);
  } catch {
    throw new NgsiError('InvalidRequest', 'A message must be a JSON object');
  }
  if (message.action === 'attach') {
    const id = message.subscriptionId;
    if (typeof id !== 'string' || !(await deps.store.tenantExists(tenant)) || !(await deps.store.notifications.getSubscription(tenant, id))) {
      throw new NgsiError('ResourceNotFound', `Subscription ${String(id)} does not exist`);
    }
    deps.notifier.hub.attach(tenant, id, socket);
    reply(socket, { type: 'attached', subscriptionId: id });
    return;
  }
  if (message.action === 'create') {
    const body = message.subscription;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new NgsiError('BadRequestData', 'subscription must be an object');
    const { '@context': context, ...rest } = body as Record<string, unknown>;
    const notification = { endpoint: { uri: WEBSOCKET_ENDPOINT }, ...((rest.notification as object | undefined) ?? {}) };
    const ctx = await deps.contexts.resolve(context as ContextSource | undefined);
    const subscription = parseSubscription({ ...rest, notification }, ctx, nowIso());
    await deps.store.notifications.createSubscription(tenant, subscription);
    deps.notifier.hub.attach(tenant, subscription.id, socket);
    reply(socket, { type: 'created', subscriptionId: subscription.id });
    return;
  }
  throw new NgsiError('BadRequestData', 'action must be "attach" or "create"');
}

function reply(socket: WebSocket, message: Record<string, unknown>): void {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}
