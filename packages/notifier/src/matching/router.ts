/**
 * Outbox changes -> notifications: the index finds the subscriptions a
 * change may concern, the triggers and watched attributes decide, the
 * filters (q, geoQ, scopeQ) are checked in SQL against the new state, and
 * throttling lets through at most one notification per period.
 */
import { CompiledFilters, compileFilters, percentDecoded } from '@civitas/core';
import type { ChangeRouter, EntityChange, NewDelivery } from '@civitas/store';
import { linkedFor, notificationBody } from '../payload';
import { attributeChanges, AttributeChanges, firedTriggers } from './changes';
import type { IndexedSubscription, SubscriptionIndex } from './subscriptionIndex';

interface Match {
  s: IndexedSubscription;
  change: EntityChange;
  changes: AttributeChanges;
}

const filtersCache = new WeakMap<IndexedSubscription, CompiledFilters>();

/** The subscription's filters, compiled once per loaded subscription. */
export function filtersOf(s: IndexedSubscription): CompiledFilters {
  let filters = filtersCache.get(s);
  if (!filters) {
    const { q, scopeQ, geoQ } = s.subscription;
    filters = compileFilters({ q: q === undefined ? undefined : percentDecoded(q), scopeQ, geoQ }, s.ctx);
    filtersCache.set(s, filters);
  }
  return filters;
}

const hasFilters = (f: CompiledFilters) => f.q !== undefined || f.scopes !== undefined || f.geo !== undefined;

export function changeRouter(index: () => SubscriptionIndex): ChangeRouter {
  return async (changes, { filter, throttle, load }) => {
    const now = Date.now();
    const matches: Match[] = [];
    for (const change of changes) {
      const entity = change.after ?? change.before;
      if (!entity) continue;
      const diff = attributeChanges(change.before, change.after);
      const touched = [...diff.created, ...diff.updated, ...diff.deleted];
      for (const s of index().candidates(change.tenant, entity, touched, now)) {
        const fired = firedTriggers(change.before, change.after, diff, s.watched);
        if ([...fired].some((t) => s.triggers.has(t))) matches.push({ s, change, changes: diff });
      }
    }
    const kept = await applyFilters(matches, filter);
    const deliveries: NewDelivery[] = [];
    const throttled = new Set<IndexedSubscription>();
    for (const m of kept) {
      const { subscription, tenant } = m.s;
      if (subscription.throttling !== undefined) {
        // One per batch at most; the database decides between processes.
        if (throttled.has(m.s) || !(await throttle(tenant, subscription.id, subscription.throttling, new Date()))) {
          throttled.add(m.s);
          continue;
        }
        throttled.add(m.s);
      }
      const { before, after, changedAt } = m.change;
      const notice = after ? { entity: after, before, changes: m.changes } : { entity: before!, deletedAt: changedAt };
      const linked = await linkedFor(m.s, [notice], (ids) => load(tenant, ids));
      deliveries.push({ tenant, subscriptionId: subscription.id, notification: notificationBody(m.s, [notice], linked), seq: m.change.seq });
    }
    return deliveries;
  };
}

/** Keeps the matches whose entity passes the subscription's filters, one query per subscription. */
async function applyFilters(matches: Match[], filter: Parameters<ChangeRouter>[1]['filter']): Promise<Match[]> {
  const bySubscription = new Map<IndexedSubscription, Match[]>();
  for (const m of matches) {
    // A deleted entity has no state left to filter.
    if (!m.change.after || !hasFilters(filtersOf(m.s))) continue;
    const list = bySubscription.get(m.s) ?? [];
    list.push(m);
    bySubscription.set(m.s, list);
  }
  const rejected = new Set<Match>();
  for (const [s, list] of bySubscription) {
    const passing = await filter(s.tenant, list.map((m) => m.change.after!), filtersOf(s));
    list.forEach((m, i) => {
      if (!passing.has(i)) rejected.add(m);
    });
  }
  return matches.filter((m) => !rejected.has(m));
}
