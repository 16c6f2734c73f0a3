/**
 * Coalesces entity updates into batch upserts: a batch goes when it is full
 * or a few milliseconds after its first update, whichever comes first. An
 * entity appears at most once per batch, so that every update keeps its own
 * place in the attribute history. While the broker is unreachable, updates
 * wait (bounded) and are sent again with backoff; what does not fit is
 * dropped, counted and logged.
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

interface Batch {
  tenant: string | undefined;
  contextUrl: string | undefined;
  entities: EntityFragment[];
  ids: Set<string>;
}

export interface Log {
  info(message: string): void;
  error(message: string): void;
}

export class BatchingWriter {
  /** Batches not yet sent, oldest first; several may be open per tenant and context. */
  private readonly queue: Batch[] = [];
  private buffered = 0;
  private inFlight = 0;
  /** Entities in batches on their way to the broker. */
  private readonly inFlightIds = new Map<string, number>();
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

  /** Queues one entity update; false when the buffer is full (the update is dropped and counted). */
  write(tenant: string | undefined, contextUrl: string | undefined, entity: EntityFragment): boolean {
    if (this.buffered >= this.config.bufferLimit) {
      this.metrics.drop('buffer_overflow');
      this.log.error(`Update of ${entity.id} dropped: ${this.buffered} updates already wait for the broker (limit ${this.config.bufferLimit})`);
      return false;
    }
    let batch = this.queue.find(
      (b) => b.tenant === tenant && b.contextUrl === contextUrl && b.entities.length < this.config.batchSize && !b.ids.has(entity.id),
    );
    if (!batch) {
      batch = { tenant, contextUrl, entities: [], ids: new Set() };
      this.queue.push(batch);
    }
    batch.entities.push(entity);
    batch.ids.add(entity.id);
    this.buffered++;
    if (batch.entities.length >= this.config.batchSize) this.pump();
    else this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.pump(true);
    }, this.config.flushMs);
    return true;
  }

  /** Resolves when nothing waits or is in flight. */
  idle(): Promise<void> {
    if (this.buffered === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Sends what is queued (waiting for the broker at most `timeoutMs`) and stops. */
  async close(timeoutMs = 5_000): Promise<void> {
    this.pump(true);
    await Promise.race([this.idle(), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.retryTimer);
    if (this.buffered > 0) {
      this.metrics.drop('shutdown', this.buffered);
      this.log.error(`${this.buffered} entity updates were still waiting for the broker at shutdown and are dropped`);
    }
  }

  /**
   * Sends full batches (with `all`, partial ones too), oldest first. A batch
   * waits while an entity of it is in flight or in an older waiting batch,
   * so that an entity's updates reach the broker in the order they came.
   * Nothing goes while a retry is pending.
   */
  private pump(all = false): void {
    const blocked = new Set(this.inFlightIds.keys());
    for (let i = 0; i < this.queue.length && !this.closed && !this.retryTimer && this.inFlight < this.config.concurrency; ) {
      const batch = this.queue[i];
      const ready = (all || batch.entities.length >= this.config.batchSize) && ![...batch.ids].some((id) => blocked.has(id));
      if (!ready) {
        for (const id of batch.ids) blocked.add(id);
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      for (const id of batch.ids) this.inFlightIds.set(id, (this.inFlightIds.get(id) ?? 0) + 1);
      for (const id of batch.ids) blocked.add(id);
      void this.send(batch);
    }
    if (this.queue.length > 0 && !this.timer && !this.retryTimer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump(true);
      }, this.config.flushMs);
    }
  }

  private async send(batch: Batch): Promise<void> {
    this.inFlight++;
    this.metrics.writeRequests++;
    try {
      const outcome = await this.sink.upsert(batch.tenant, batch.contextUrl, batch.entities);
      this.failures = 0;
      this.buffered -= batch.entities.length;
      this.metrics.entitiesWritten += batch.entities.length - outcome.rejected.length;
      for (const r of outcome.rejected) {
        this.metrics.drop('rejected_by_broker');
        this.log.error(`The broker refused the update of ${r.id}: ${r.reason}`);
      }
    } catch (e) {
      if (!(e instanceof SinkUnavailable)) this.log.error(`Writing to the broker failed: ${(e as Error).message}`);
      // Back to the front, to keep the order of updates; sent again after a backoff.
      this.queue.unshift(batch);
      this.metrics.writeRetries++;
      this.failures++;
      const delay = Math.min(this.config.retryMaxMs, this.config.retryBaseMs * 2 ** (this.failures - 1));
      if (this.failures === 1 || this.failures % 10 === 0) this.log.error(`${(e as Error).message}; ${this.buffered} updates wait, next try in ${delay} ms`);
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.pump(true);
      }, delay);
    } finally {
      this.inFlight--;
      for (const id of batch.ids) {
        const n = this.inFlightIds.get(id)! - 1;
        if (n === 0) this.inFlightIds.delete(id);
        else this.inFlightIds.set(id, n);
      }
    }
    this.pump(true);
    if (this.buffered === 0 && this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
  }
}
