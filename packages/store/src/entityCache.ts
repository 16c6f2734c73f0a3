/**
 * Entities read recently, by tenant and id, so that a retrieval by id of an
 * entity read before is answered without a statement: under load the
 * database's share of a retrieval (a wake-up, an index probe, rendering the
 * row) is a third of its cost.
 *
 * An entry never outlives a change it would hide:
 * - every write this process commits drops its entities (see SqlStore);
 * - writes committed by other processes on the same database drop theirs
 *   when their announcement arrives (see EntityAnnouncements); until it
 *   arrives, a read here may still answer the state before, as a read that
 *   came a moment earlier would have;
 * - a read that was in flight when its entity was dropped is not kept: it
 *   may hold the state before the write;
 * - while announcements may be missed (the listening connection is lost,
 *   or does not hear the probes its process announces), nothing is cached,
 *   and what was is forgotten;
 * - an entity past its expiresAt is never answered from here.
 *
 * A write keeps what it wrote, with the row version it left (see
 * WRITE_STATEMENT), unless an announcement dropped the entity while the
 * write was under way; the next write of the entity plans from it without
 * reading. Should the version be stale (another process wrote since, and
 * its announcement is still on the way), the write statement finds another
 * version and fails, to be planned again from a read.
 *
 * Entries are frozen: every reader shares them, so none may change one.
 */
import type { StoredEntity } from '@civitas/core';

interface Entry {
  entity: StoredEntity;
  /** Epoch milliseconds at which the entity expires (4.22); Infinity when it does not. */
  expiresAt: number;
  /** The generation of its tenant when read: a tenant dropped as a whole leaves older entries unusable. */
  generation: number;
  /** The row version, for an entity this process wrote (reads keep none). */
  version?: string;
  /** Used since it was last passed over for eviction (see `keep`): it gets a second chance. */
  used: boolean;
}

/** One read from the database (or write) in flight; `stale` once its entity was dropped meanwhile. */
export interface CacheRead {
  key: string;
  tenant: string;
  id: string;
  generation: number;
  stale: boolean;
}

/** An entity as a write left it, with its row version. */
export interface VersionedEntity {
  entity: StoredEntity;
  version: string;
}

const keyOf = (tenant: string, id: string) => `${tenant}\u0000${id}`;

export class EntityCache {
  /**
   * In the order they were kept or last given a second chance, first to
   * last: an approximation of least recently used (the CLOCK algorithm)
   * whose hits only mark an entry, where moving it to the end would cost
   * every hit two map operations.
   */
  private readonly entries = new Map<string, Entry>();
  private readonly reading = new Map<string, Set<CacheRead>>();
  private readonly generations = new Map<string, number>();
  /** While false, announcements from other processes may be missed: nothing is answered or kept. */
  private trusted: boolean;

  constructor(
    /** Most entities kept. */
    readonly capacity: number,
    /** Whether the cache is trusted from the start (no other process to hear from, or already listening). */
    trusted = true,
  ) {
    this.trusted = trusted;
  }

  get size(): number {
    return this.entries.size;
  }

  get(tenant: string, id: string): StoredEntity | undefined {
    return this.entry(tenant, id)?.entity;
  }

  /** An entity this process wrote, with the version it left; none when it was read rather than written, or is not kept. */
  getWritten(tenant: string, id: string): VersionedEntity | undefined {
    const entry = this.entry(tenant, id);
    return entry?.version === undefined ? undefined : { entity: entry.entity, version: entry.version };
  }

  private entry(tenant: string, id: string): Entry | undefined {
    if (!this.trusted) return undefined;
    const key = keyOf(tenant, id);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.generation !== (this.generations.get(tenant) ?? 0) || (entry.expiresAt !== Infinity && entry.expiresAt <= Date.now())) {
      this.entries.delete(key);
      return undefined;
    }
    entry.used = true;
    return entry;
  }

  /** Registers a read (or a write) about to go to the database; finish it with `finishRead`, `finishWrite` or `abandonRead`. */
  startRead(tenant: string, id: string): CacheRead {
    const read: CacheRead = { key: keyOf(tenant, id), tenant, id, generation: this.generations.get(tenant) ?? 0, stale: !this.trusted };
    const reads = this.reading.get(read.key);
    if (reads) reads.add(read);
    else this.reading.set(read.key, new Set([read]));
    return read;
  }

  /** What the read found, kept unless a write may have overtaken it; the same entity, frozen, is returned. */
  finishRead(read: CacheRead, entity: StoredEntity | undefined): StoredEntity | undefined {
    this.abandonRead(read);
    if (!entity) return undefined;
    this.keep(read, entity);
    return entity;
  }

  /**
   * A write of the entities `writes` registered has ended: their entries and
   * the reads in flight that may hold the state before it are dropped, and
   * what it wrote (none when it failed) is kept with its version, unless an
   * announcement dropped the entity while the write was under way.
   */
  finishWrite(writes: CacheRead[], written: ReadonlyMap<string, VersionedEntity>): void {
    for (const write of writes) {
      this.abandonRead(write);
      this.dropKey(write.key);
      const state = written.get(write.id);
      if (state) this.keep(write, state.entity, state.version);
    }
  }

  private keep(read: CacheRead, entity: StoredEntity, version?: string): void {
    deepFreeze(entity);
    if (read.stale || !this.trusted || read.generation !== (this.generations.get(read.tenant) ?? 0)) return;
    // Room is made before the entity comes in, so that it is not itself the one evicted.
    if (!this.entries.delete(read.key) && this.entries.size >= this.capacity) this.evictOne();
    this.entries.set(read.key, { entity, generation: read.generation, expiresAt: entity.expiresAt ? Date.parse(entity.expiresAt) : Infinity, version, used: false });
  }

  /** Evicts the first entry not used since it was passed over; those used go to the end, unmarked. */
  private evictOne(): void {
    for (const [key, entry] of this.entries) {
      this.entries.delete(key);
      if (!entry.used) return;
      entry.used = false;
      this.entries.set(key, entry);
    }
  }

  abandonRead(read: CacheRead): void {
    const reads = this.reading.get(read.key);
    if (!reads) return;
    reads.delete(read);
    if (reads.size === 0) this.reading.delete(read.key);
  }

  /** Drops entities a write changed (or may have changed). */
  drop(tenant: string, ids: Iterable<string>): void {
    for (const id of ids) this.dropKey(keyOf(tenant, id));
  }

  private dropKey(key: string): void {
    this.entries.delete(key);
    const reads = this.reading.get(key);
    if (reads) for (const read of reads) read.stale = true;
  }

  /** Drops every entity of a tenant: a write whose ids were too many to announce one by one. */
  dropTenant(tenant: string): void {
    this.generations.set(tenant, (this.generations.get(tenant) ?? 0) + 1);
  }

  /** Drops every entity, reads in flight included. */
  dropAll(): void {
    this.entries.clear();
    for (const reads of this.reading.values()) for (const read of reads) read.stale = true;
  }

  /** Announcements may be missed from now on: forget everything and keep nothing until `trust`. */
  distrust(): void {
    this.trusted = false;
    this.dropAll();
  }

  /** Announcements arrive again (the listener is back): reads from now on may be kept. */
  trust(): void {
    this.entries.clear();
    this.trusted = true;
  }
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  // Arrays by index: for-in would make a string of every index.
  if (Array.isArray(value)) for (let i = 0; i < value.length; i++) deepFreeze(value[i]);
  else for (const key in value) deepFreeze((value as Record<string, unknown>)[key]);
}
