/**
 * Concurrent reads of single entities, fetched together. While every read
 * lane is busy, reads wait; a lane that frees fetches the waiting reads of
 * one tenant with one statement. Each statement costs a round trip to the
 * database and the wake-up of a server process, which under load cost more
 * than the rows themselves; an idle store still reads each entity at once.
 *
 * A read never sees older data than it would alone: it is sent no earlier
 * than it came.
 */

interface Waiter<V> {
  resolve(value: V | undefined): void;
  reject(error: unknown): void;
}

export class ReadBatches<V> {
  /** Waiting reads by tenant, then by id; tenants are served in the order they came. */
  private readonly waiting = new Map<string, Map<string, Array<Waiter<V>>>>();
  private running = 0;

  constructor(
    /** Statements in flight at once. */
    private readonly lanes: number,
    /** Most ids one statement reads. */
    private readonly maxIds: number,
    /** Reads the given entities of a tenant; an id missing from the answer reads as undefined. */
    private readonly fetch: (tenant: string, ids: string[]) => Promise<Map<string, V>>,
  ) {}

  get(tenant: string, id: string): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      let byId = this.waiting.get(tenant);
      if (!byId) this.waiting.set(tenant, (byId = new Map()));
      const waiters = byId.get(id);
      if (waiters) waiters.push({ resolve, reject });
      else byId.set(id, [{ resolve, reject }]);
      this.schedule();
    });
  }

  private schedule(): void {
    while (this.running < this.lanes && this.waiting.size > 0) {
      const [tenant, byId] = this.waiting.entries().next().value as [string, Map<string, Array<Waiter<V>>>];
      const batch = new Map<string, Array<Waiter<V>>>();
      for (const [id, waiters] of byId) {
        if (batch.size === this.maxIds) break;
        batch.set(id, waiters);
        byId.delete(id);
      }
      // A tenant with more waiting than one statement takes goes behind the others, so that none waits on it for long.
      this.waiting.delete(tenant);
      if (byId.size > 0) this.waiting.set(tenant, byId);
      this.running += 1;
      void this.fetch(tenant, [...batch.keys()])
        .then(
          (found) => {
            for (const [id, waiters] of batch) for (const w of waiters) w.resolve(found.get(id));
          },
          (e) => {
            for (const waiters of batch.values()) for (const w of waiters) w.reject(e);
          },
        )
        .finally(() => {
          this.running -= 1;
          this.schedule();
        });
    }
  }
}
