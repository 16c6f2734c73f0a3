/**
 * Coalesces entity updates into batch upserts: a batch goes when enough
 * updates wait to fill one or a few milliseconds after the first of them,
 * whichever comes first. An entity is never in two batches in flight, so
 * that its updates reach the broker in the order they came; the updates of
 * an entity that waited for its last batch go together in its next one, in
 * order, each of them still an update of its own (a broker applies the
 * elements of a batch upsert in array order, 10.3.3, and Civitas keeps
 * each one in the history and notifies it). Batches are packed when a send
 * slot frees, from the updates whose entity is free: an update that must
 * wait holds back only the later updates of its own entity, not a whole
 * batch. While the broker
 * is unreachable, updates wait (bounded) and are sent again with backoff;
 * what does not fit is dropped, counted and logged.
 */
import type { EntityFragment } from '../mapping/measuresToEntity';
import type { Metrics } from '../metrics';
import { EntitySink, SinkUnavailable } from './entitySink';

export interface WriterConfig {
  /** Most entities per batch upsert. */
  batchSize: number;
  /** Longest an update waits for its batch to fill. */
  flushMs: number;
  /** Most updates held while the broker is slow or away. */
  bufferLimit: number;
  /** Batch upserts in flight at once. */
  concurrency: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

export const DEFAULT_WRITER_CONFIG: WriterConfig = {
  batchSize: 200,
  flushMs: 5,
  bufferLimit: 100_000,
  concurrency: 4,
  retryBaseMs: 200,
  retryMaxMs: 10_000,
};

/** One entity update waiting for its batch. */
interface Update {
  tenant: string | undefined;
  contextUrl: string | undefined;
  entity: EntityFragment;
  /** The entity across tenants: the tenant and the id. */
  key: string;
}

interface Batch {
  tenant: string | undefined;
  contextUrl: string | undefined;
  updates: Update[];
}

export interface Log {
  info(message: string): void;
  error(message: string): void;
}

export class BatchingWriter {
  /** Updates not yet sent, oldest first. */
  private pending: Update[] = [];
  private inFlight = 0;
  /** Updates in batches on their way to the broker. */
  private inFlightUpdates = 0;
  /** Entities (tenant and id) in batches on their way to the broker. */
  private readonly inFlightKeys = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly sink: EntitySink,
    private readonly metrics: Metrics,
    private readonly log: Log,
    private readonly config: WriterConfig = DEFAULT_WRITER_CONFIG,
  ) {
    metrics.buffered = () => this.buffered;
  }

  /** Updates not yet accepted by the broker: waiting, and in flight. */
  private get buffered(): number {
    return this.pending.length + this.inFlightUpdates;
  }

  /** Queues one entity update; false when the buffer is full (the update is dropped and counted). */
  write(tenant: string | undefined, contextUrl: string | undefined, entity: EntityFragment): boolean {
    if (this.buffered >= this.config.bufferLimit) {
      this.metrics.drop('buffer_overflow');
      this.log.error(`Update of ${entity.id} dropped: ${this.buffered} updates already wait for the broker (limit ${this.config.bufferLimit})`);
      return false;
    }
    this.pending.push({ tenant, contextUrl, entity, key: `${tenant ?? ''}\u0000${entity.id}` });
    // A batch's worth more: time to look for a full batch (looking on every write would scan the backlog each time).
    if (this.pending.length % this.config.batchSize === 0) this.pump();
    else this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.pump(true);
    }, this.config.flushMs);
    return true;
  }

  /** Resolves when nothing waits or is in flight. */
  idle(): Promise<void> {
    if (this.pending.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Sends what is queued (waiting for the broker at most `timeoutMs`) and stops. */
  async close(timeoutMs = 5_000): Promise<void> {
    this.pump(true);
    await Promise.race([this.idle(), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.retryTimer);
    if (this.pending.length > 0) {
      this.metrics.drop('shutdown', this.pending.length);
      this.log.error(`${this.pending.length} entity updates were still waiting for the broker at shutdown and are dropped`);
    }
  }

  /** Sends full batches (with `all`, partial ones too) while send slots are free. Nothing goes while a retry is pending. */
  private pump(all = false): void {
    while (!this.closed && !this.retryTimer && this.inFlight < this.config.concurrency) {
      const batch = this.nextBatch(all);
      if (!batch) break;
      void this.send(batch);
    }
    if (this.pending.length > 0 && !this.timer && !this.retryTimer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump(true);
      }, this.config.flushMs);
    }
  }

  /**
   * The oldest update whose entity is free, with every later one of the
   * same tenant and context that fits beside it. An update passed over
   * keeps its entity: no later update of it may go before it. Without
   * `all`, only a full batch is taken.
   */
  private nextBatch(all: boolean): Batch | undefined {
    const taken: Update[] = [];
    const passedOver = new Set<string>();
    let first: Update | undefined;
    for (const u of this.pending) {
      if (taken.length === this.config.batchSize) break;
      const free = !this.inFlightKeys.has(u.key) && !passedOver.has(u.key);
      if (free && (!first || (u.tenant === first.tenant && u.contextUrl === first.contextUrl))) {
        first ??= u;
        taken.push(u);
      } else {
        passedOver.add(u.key);
      }
    }
    if (!first || (!all && taken.length < this.config.batchSize)) return undefined;
    const sent = new Set(taken);
    this.pending = this.pending.filter((u) => !sent.has(u));
    return { tenant: first.tenant, contextUrl: first.contextUrl, updates: taken };
  }

  private async send(batch: Batch): Promise<void> {
    this.inFlight++;
    this.inFlightUpdates += batch.updates.length;
    for (const u of batch.updates) this.inFlightKeys.add(u.key);
    this.metrics.writeRequests++;
    try {
      const outcome = await this.sink.upsert(
        batch.tenant,
        batch.contextUrl,
        batch.updates.map((u) => u.entity),
      );
      this.failures = 0;
      this.metrics.entitiesWritten += batch.updates.length - outcome.rejected.length;
      for (const r of outcome.rejected) {
        this.metrics.drop('rejected_by_broker');
        this.log.error(`The broker refused the update of ${r.id}: ${r.reason}`);
      }
    } catch (e) {
      if (!(e instanceof SinkUnavailable)) this.log.error(`Writing to the broker failed: ${(e as Error).message}`);
      // Back to the front, to keep the order of updates; sent again after a backoff.
      this.pending.unshift(...batch.updates);
      this.metrics.writeRetries++;
      this.failures++;
      const delay = Math.min(this.config.retryMaxMs, this.config.retryBaseMs * 2 ** (this.failures - 1));
      if (this.failures === 1 || this.failures % 10 === 0) this.log.error(`${(e as Error).message}; ${this.pending.length} updates wait, next try in ${delay} ms`);
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.pump(true);
      }, delay);
    } finally {
      this.inFlight--;
      this.inFlightUpdates -= batch.updates.length;
      for (const u of batch.updates) this.inFlightKeys.delete(u.key);
    }
    this.pump(true);
    if (this.pending.length === 0 && this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
  }
}
