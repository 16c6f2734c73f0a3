/**
 * What an entity change did, attribute by attribute, and which
 * notification triggers (5.2.12) it fires. Only a real change counts: an
 * update that writes the same content again changes nothing (5.8.6), so
 * system timestamps are left out of the comparison.
 */
import { AttributeInstance, NotificationTrigger, sameJson, StoredEntity } from '@civitas/core';

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
  return !sameJson(before.types, after.types) || !sameJson(before.scope, after.scope);
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
const sameContent = (a: AttributeInstance, b: AttributeInstance) => sameJson(a, b, isSystemTime);

const isSystemTime = (member: string) => member === 'createdAt' || member === 'modifiedAt';
