/**
 * Hands the changes a process commits to its own notifier, which routes and
 * delivers them at once, without reading them back from the outbox. Their
 * outbox rows are written leased to the process (owner and time limit), so
 * that no other process claims them meanwhile; they leave the outbox once
 * every notification made from them was sent or queued for a retry. A
 * process that dies leaves its leases to run out, and its changes to be
 * claimed by whichever notifier polls next (see processChanges): nothing
 * committed goes unnotified.
 */
import { randomUUID } from 'node:crypto';
import type { EntityChange } from './notifications';

/** What one write committed, and the subscriptions' revision it saw. */
export interface CommittedChanges {
  changes: EntityChange[];
  /** The subscription revision in the write's snapshot: a notifier whose subscriptions are older reloads them first. */
  revision: number;
}

export class ChangeFeed {
  /** Names this process in the leases of its outbox rows. */
  readonly owner = randomUUID();
  private subscriber?: { deliver(committed: CommittedChanges): void; leaseMs: number };
  private readonly revisionListeners = new Set<() => void>();

  /** The notifier of this process takes the changes it commits, leased for `leaseMs`. */
  subscribe(deliver: (committed: CommittedChanges) => void, leaseMs: number): () => void {
    const subscriber = { deliver, leaseMs };
    this.subscriber = subscriber;
    return () => {
      if (this.subscriber === subscriber) this.subscriber = undefined;
    };
  }

  /** The lease for outbox rows written now; undefined when no notifier here takes them (they are left for any to claim). */
  get lease(): { owner: string; seconds: number } | undefined {
    return this.subscriber && { owner: this.owner, seconds: this.subscriber.leaseMs / 1000 };
  }

  publish(committed: CommittedChanges): void {
    if (committed.changes.length > 0) this.subscriber?.deliver(committed);
  }

  /** Calls `listener` each time this process has committed a change of subscriptions (a new subscription revision). */
  onSubscriptionsRevised(listener: () => void): () => void {
    this.revisionListeners.add(listener);
    return () => this.revisionListeners.delete(listener);
  }

  subscriptionsRevised(): void {
    for (const listener of this.revisionListeners) listener();
  }
}
