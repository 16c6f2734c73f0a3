/**
 * Wakes the notifier when changes reach the outbox: at once for changes this
 * process committed, through LISTEN/NOTIFY for those of other processes on
 * the same database. A missed signal only delays: the notifier also polls.
 */
import { randomUUID } from 'node:crypto';

export const CHANGES_CHANNEL = 'civitas_changes';

export class ChangeSignals {
  /** Names this process in its NOTIFY payloads: its own, already signalled at commit, are not signalled twice. */
  readonly origin = randomUUID();
  private readonly listeners = new Set<() => void>();

  on(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(): void {
    for (const listener of this.listeners) listener();
  }
}
