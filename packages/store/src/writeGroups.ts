/**
 * Concurrent mutations, written together. While every write lane is busy,
 * mutations wait in a queue; a lane that frees takes the waiting ones that
 * can share a transaction as one group, written with one locked read and one
 * write statement. Under load the fixed cost of a transaction (its round
 * trips, the start of the write statement, the commit) is then paid once per
 * group instead of once per mutation; an idle store still writes each
 * mutation at once.
 *
 * Mutations of one entity never share a group and never run side by side:
 * they are written in the order they came.
 *
 * Spare lanes take large groups only. Small writes are cheapest grouped:
 * a second lane taking them would halve the groups and double the
 * statements. A large group (a batch upsert, an IoT agent's backlog) is
 * large already, and its statement gains from running beside another.
 */

/** Lanes beyond the regular ones, for groups of at least `minIds` entities. */
export interface SpareLanes {
  lanes: number;
  minIds: number;
}

/** What the queue needs to know of a mutation. */
export interface GroupMember {
  tenant: string;
  /** The entities it reads under lock. */
  ids: string[];
  /** Members share a group only when their keys are equal (the tenant and the options of the write). */
  key: string;
  /** Written in a group of its own (after a group failed, so that a failure is told to the one that caused it). */
  alone: boolean;
  /** Fails the mutation when its group could not be written at all. */
  reject(error: unknown): void;
}

export class WriteGroups<M extends GroupMember> {
  private readonly waiting: M[] = [];
  /** Entities the waiting members read, together: a spare lane looks for a group only when they could make a large one. */
  private waitingIds = 0;
  /** Entities (tenant and id) that a group in flight holds. */
  private readonly held = new Set<string>();
  private running = 0;
  private runningSpare = 0;

  constructor(
    /** Groups in flight at once. */
    private readonly lanes: number,
    /** Most entities one group reads; a larger mutation still goes, alone. */
    private readonly maxIds: number,
    /** Writes a group and settles its members; members it hands back to `retry` are queued again. `spare`: on a spare lane. */
    private readonly write: (group: M[], spare: boolean) => Promise<void>,
    private readonly spare: SpareLanes = { lanes: 0, minIds: Infinity },
  ) {}

  submit(member: M): void {
    this.waiting.push(member);
    this.waitingIds += member.ids.length;
    this.schedule();
  }

  /** Queues members again ahead of the others, in the order given (members put off by their group). */
  retry(members: M[]): void {
    this.waiting.unshift(...members);
    for (const m of members) this.waitingIds += m.ids.length;
    this.schedule();
  }

  private schedule(): void {
    for (;;) {
      const spare = this.running >= this.lanes;
      if (spare && (this.runningSpare >= this.spare.lanes || this.waitingIds < this.spare.minIds)) return;
      const group = this.nextGroup(spare ? this.spare.minIds : 0);
      if (group.length === 0) return;
      const slots = group.flatMap((m) => m.ids.map((id) => slotOf(m.tenant, id)));
      for (const s of slots) this.held.add(s);
      if (spare) this.runningSpare += 1;
      else this.running += 1;
      void this.write(group, spare)
        .catch((e) => {
          for (const m of group) m.reject(e);
        })
        .finally(() => {
          for (const s of slots) this.held.delete(s);
          if (spare) this.runningSpare -= 1;
          else this.running -= 1;
          this.schedule();
        });
    }
  }

  /**
   * The first waiting member that holds no entity in flight, with every
   * later one that fits beside it; none unless they read at least `minIds`
   * entities. A member passed over keeps its entities: no later mutation of
   * them may go before it.
   */
  private nextGroup(minIds: number): M[] {
    const picked: number[] = [];
    const taken = new Set<string>();
    const passedOver = new Set<string>();
    let size = 0;
    for (let i = 0; i < this.waiting.length; i++) {
      const m = this.waiting[i];
      const first = picked.length > 0 ? this.waiting[picked[0]] : undefined;
      const slots = m.ids.map((id) => slotOf(m.tenant, id));
      const free = slots.every((s) => !this.held.has(s) && !taken.has(s) && !passedOver.has(s));
      const fits = !first || (!m.alone && !first.alone && m.key === first.key && size + m.ids.length <= this.maxIds);
      if (free && fits) {
        picked.push(i);
        size += m.ids.length;
        for (const s of slots) taken.add(s);
        if (m.alone) break;
        continue;
      }
      for (const s of slots) passedOver.add(s);
    }
    if (picked.length === 0 || size < minIds) return [];
    const group = picked.map((i) => this.waiting[i]);
    for (let n = picked.length - 1; n >= 0; n--) this.waiting.splice(picked[n], 1);
    this.waitingIds -= size;
    return group;
  }
}

const slotOf = (tenant: string, id: string) => `${tenant}\u0000${id}`;
