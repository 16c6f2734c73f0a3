/**
 * WebSocket clients attached to subscriptions. A subscription whose
 * endpoint is the WebSocket endpoint is delivered to its attached clients
 * (and waits, retried, while none is attached); any other subscription's
 * notifications are also copied to the clients watching it, as the
 * dashboard does.
 */
import type { WebSocket } from 'ws';
import { DeliveryTarget, Transport } from './transport';

const key = (tenant: string, id: string) => `${tenant}\u0000${id}`;

export class WebSocketHub implements Transport {
  private readonly attached = new Map<string, Set<WebSocket>>();
  private readonly listeners = new Set<(tenant: string, subscriptionId: string) => void>();

  attach(tenant: string, subscriptionId: string, socket: WebSocket): void {
    const k = key(tenant, subscriptionId);
    const set = this.attached.get(k) ?? new Set();
    set.add(socket);
    this.attached.set(k, set);
    socket.once('close', () => {
      set.delete(socket);
      if (set.size === 0) this.attached.delete(k);
    });
    for (const listener of this.listeners) listener(tenant, subscriptionId);
  }

  /** Called when a client attaches, so that notifications waiting for one go out at once. */
  onAttach(listener: (tenant: string, subscriptionId: string) => void): void {
    this.listeners.add(listener);
  }

  /** Sends to every client watching the subscription; how many took it. */
  async mirror(tenant: string, subscriptionId: string, notification: Record<string, unknown>): Promise<number> {
    const sockets = this.attached.get(key(tenant, subscriptionId));
    if (!sockets) return 0;
    const text = JSON.stringify(notification);
    const sent = await Promise.all(
      [...sockets].map((s) => new Promise<boolean>((resolve) => s.send(text, (e) => resolve(!e)))),
    );
    return sent.filter(Boolean).length;
  }

  async send(target: DeliveryTarget, notification: Record<string, unknown>): Promise<void> {
    const n = await this.mirror(target.tenant, target.subscription.id, notification);
    if (n === 0) throw new Error('No WebSocket client is attached to the subscription');
  }

  async close(): Promise<void> {
    for (const sockets of this.attached.values()) for (const s of sockets) s.terminate();
    this.attached.clear();
  }
}
