/**
 * What an entity change did, attribute by attribute, and which
 * notification triggers (5.2.12) it fires. Only a real change counts: an
 * update that writes the same content again changes nothing (5.8.6), so
 * system timestamps are left out of the comparison.
 */
import type { AttributeInstance, NotificationTrigger, StoredEntity } from '@civitas/core';

export interface AttributeChanges {
  created: string[];
  updated: string[];
  deleted: string[];
  /** Attributes that remain but lost instances: the datasetIds removed (`@none` for the default instance). */
  deletedInstances: Record<string, string[]>;
}

export function attributeChanges(before: StoredEntity | undefined, after: StoredEntity | undefined): AttributeChanges {
  const old = before?.attrs ?? {};
  const now = after?.attrs ?? {};
  const out: AttributeChanges = { created: [], updated: [], deleted: [], deletedInstances: {} };
  for (const [iri, instances] of Object.entries(now)) {
    if (!old[iri]) {
      out.created.push(iri);
      continue;
    }
    const kept = new Set(instances.map(datasetOf));
    const removed = old[iri].map(datasetOf).filter((d) => !kept.has(d));
    if (removed.length > 0) out.deletedInstances[iri] = removed;
    const survivors = old[iri].filter((i) => kept.has(datasetOf(i)));
    if (!sameInstances(survivors, instances)) out.updated.push(iri);
  }
  for (const iri of Object.keys(old)) if (!now[iri]) out.deleted.push(iri);
  return out;
}

/** The triggers a change fires for a subscription watching `watched` (undefined: every attribute). */
export function firedTriggers(
  before: StoredEntity | undefined,
  after: StoredEntity | undefined,
  changes: AttributeChanges,
  watched: ReadonlySet<string> | undefined,
): Set<NotificationTrigger> {
  const fired = new Set<NotificationTrigger>();
  if (!before && after) fired.add('entityCreated');
  if (before && !after) fired.add('entityDeleted');
  const relevant = (iris: string[]) => (watched ? iris.some((i) => watched.has(i)) : iris.length > 0);
  // A new entity's attributes are created with it; a deleted entity's are deleted with it.
  if (relevant(changes.created)) fired.add('attributeCreated');
  if (relevant(changes.updated)) fired.add('attributeUpdated');
  if (relevant([...changes.deleted, ...Object.keys(changes.deletedInstances)])) fired.add('attributeDeleted');
  if (before && after && (fired.has('attributeCreated') || fired.has('attributeUpdated') || fired.has('attributeDeleted') || entityMembersChanged(before, after))) {
    fired.add('entityUpdated');
  }
  return fired;
}

function entityMembersChanged(before: StoredEntity, after: StoredEntity): boolean {
  return JSON.stringify(before.types) !== JSON.stringify(after.types) || JSON.stringify(before.scope) !== JSON.stringify(after.scope);
}

const datasetOf = (i: AttributeInstance) => i.datasetId ?? '@none';

function sameInstances(a: AttributeInstance[], b: AttributeInstance[]): boolean {
  if (a.length !== b.length) return false;
  const byDataset = new Map(a.map((i) => [datasetOf(i), i]));
  return b.every((i) => {
    const other = byDataset.get(datasetOf(i));
    return other !== undefined && sameContent(other, i);
  });
}

/** Equal content and metadata, sub-attributes included, whatever the member order. */
function sameContent(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => sameContent(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = (o: Record<string, unknown>) => Object.keys(o).filter((k) => k !== 'createdAt' && k !== 'modifiedAt' && o[k] !== undefined);
  const ak = keys(ao);
  const bk = keys(bo);
  return ak.length === bk.length && ak.every((k) => sameContent(ao[k], bo[k]));
}
