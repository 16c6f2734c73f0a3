/**
 * Subscriptions in memory, indexed so that the cost of matching a change
 * depends on the subscriptions that could match it, not on how many there
 * are: by tenant and entity id for selectors naming an id (a subscription
 * per device), by tenant and entity type for the other selectors, by
 * tenant and watched attribute for subscriptions naming only attributes.
 */
import { ActiveContext, EntitySelector, StoredEntity, Subscription, subscriptionState } from '@civitas/core';
import type { StoredSubscription } from '@civitas/store';

/** A subscription ready to match: its sets and compiled patterns built once. */
export interface IndexedSubscription {
  tenant: string;
  subscription: Subscription;
  watched?: ReadonlySet<string>;
  triggers: ReadonlySet<string>;
  selectors?: Array<{ selector: EntitySelector; pattern?: RegExp }>;
  /** The subscription's own @context (filters and notifications use it). */
  ctx: ActiveContext;
}

const key = (tenant: string, name: string) => `${tenant}\u0000${name}`;

export class SubscriptionIndex {
  private readonly byEntity = new Map<string, IndexedSubscription[]>();
  private readonly byType = new Map<string, IndexedSubscription[]>();
  private readonly byAttribute = new Map<string, IndexedSubscription[]>();
  private readonly byId = new Map<string, IndexedSubscription>();

  static async build(all: StoredSubscription[], resolve: (s: Subscription) => Promise<ActiveContext>, log: (e: unknown) => void): Promise<SubscriptionIndex> {
    const index = new SubscriptionIndex();
    for (const { tenant, subscription } of all) {
      try {
        index.add(tenant, subscription, await resolve(subscription));
      } catch (e) {
        // A subscription whose @context cannot be loaded cannot be matched: logged, and tried again when
        // subscriptions next change (its context was loadable when it was written, 5.8.1.4).
        log(e);
      }
    }
    return index;
  }

  get size(): number {
    return this.byId.size;
  }

  get(tenant: string, id: string): IndexedSubscription | undefined {
    return this.byId.get(key(tenant, id));
  }

  private add(tenant: string, subscription: Subscription, ctx: ActiveContext): void {
    const entry: IndexedSubscription = {
      tenant,
      subscription,
      triggers: new Set(subscription.notificationTrigger),
      ctx,
    };
    if (subscription.watchedAttributes) entry.watched = new Set(subscription.watchedAttributes);
    if (subscription.entities) {
      entry.selectors = subscription.entities.map((selector) => ({
        selector,
        ...(selector.idPattern !== undefined ? { pattern: new RegExp(selector.idPattern) } : {}),
      }));
    }
    this.byId.set(key(tenant, subscription.id), entry);
    if (subscription.timeInterval !== undefined) return; // periodic: notified on its schedule, not on changes
    if (subscription.entities) {
      for (const selector of subscription.entities) {
        if (selector.id !== undefined) push(this.byEntity, key(tenant, selector.id), entry);
        // Each conjunction is reached through its first type; matching checks the rest.
        else for (const all of selector.types) push(this.byType, key(tenant, all[0]), entry);
      }
    } else {
      for (const a of subscription.watchedAttributes ?? []) push(this.byAttribute, key(tenant, a), entry);
    }
  }

  /** The active subscriptions an entity change may concern: right tenant, type and entity selector. */
  candidates(tenant: string, entity: StoredEntity, changedAttributes: Iterable<string>, now: number): IndexedSubscription[] {
    const found = new Set<IndexedSubscription>();
    for (const s of this.byEntity.get(key(tenant, entity.id)) ?? []) found.add(s);
    for (const t of entity.types) for (const s of this.byType.get(key(tenant, t)) ?? []) found.add(s);
    for (const a of changedAttributes) for (const s of this.byAttribute.get(key(tenant, a)) ?? []) found.add(s);
    return [...found].filter((s) => subscriptionState(s.subscription, now) === 'active' && selects(s, entity));
  }
}

function push<K, V>(map: Map<K, V[]>, k: K, v: V): void {
  const list = map.get(k);
  if (list) {
    if (!list.includes(v)) list.push(v);
  } else map.set(k, [v]);
}

/** 5.2.12: an entity is selected when any selector matches it (no selectors: every entity). */
export function selects(s: IndexedSubscription, entity: StoredEntity): boolean {
  if (!s.selectors) return true;
  return s.selectors.some(({ selector, pattern }) => {
    if (selector.id !== undefined && selector.id !== entity.id) return false;
    if (pattern && !pattern.test(entity.id)) return false;
    return selector.types.some((all) => all.every((t) => entity.types.includes(t)));
  });
}
