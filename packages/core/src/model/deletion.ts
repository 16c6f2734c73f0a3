/**
 * What the attribute history records besides the written attribute
 * instances: deletions (4.5.6: an instance of the deleted attribute's type
 * whose content is the NGSI-LD Null, with deletedAt) and the entity's scope,
 * kept as a Property whose observedAt is its modification time (4.5.6).
 */
import { AttributeInstance, SCOPE, StoredEntity } from './entity';
import { CONTENT_MEMBER, NGSI_NULL } from './parse';

export interface HistoryRecord {
  attr: string;
  instance: AttributeInstance;
}

/** The NGSI-LD Null in the shape of each content member (4.5.0). */
const NULL_CONTENT: Record<string, unknown> = {
  value: NGSI_NULL,
  object: NGSI_NULL,
  vocab: NGSI_NULL,
  json: NGSI_NULL,
  languageMap: { '@none': NGSI_NULL },
  valueList: [NGSI_NULL],
  objectList: [NGSI_NULL],
};

function deletedInstance(instance: AttributeInstance, at: string): AttributeInstance {
  const member = CONTENT_MEMBER[instance.type];
  const out = { type: instance.type, [member]: NULL_CONTENT[member] } as AttributeInstance;
  if (instance.datasetId !== undefined) out.datasetId = instance.datasetId;
  out.createdAt = instance.createdAt ?? at;
  out.modifiedAt = at;
  out.deletedAt = at;
  return out;
}

/**
 * The records a write adds beside the attribute instances it writes: the
 * instances of `before` that `after` no longer has (by attribute and
 * datasetId; all of them when the entity is deleted, `after` undefined) as
 * deletions, and the scope when it changed. `before` is undefined for a
 * created entity.
 */
export function historyRecords(before: StoredEntity | undefined, after: StoredEntity | undefined, at: string): HistoryRecord[] {
  const out: HistoryRecord[] = [];
  for (const [attr, instances] of Object.entries(before?.attrs ?? {})) {
    const kept = after?.attrs[attr];
    for (const instance of instances) {
      if (kept?.some((k) => k.datasetId === instance.datasetId)) continue;
      out.push({ attr, instance: deletedInstance(instance, at) });
    }
  }
  const scopeBefore = before?.scope ?? [];
  const scopeAfter = after?.scope ?? [];
  if (scopeBefore.length !== scopeAfter.length || scopeBefore.some((s, i) => s !== scopeAfter[i])) {
    // A removed scope is recorded with an empty value, as the conformance suite reads 4.5.6.
    const instance: AttributeInstance =
      scopeAfter.length > 0
        ? { type: 'Property', value: scopeAfter, observedAt: at, createdAt: at, modifiedAt: at }
        : { type: 'Property', value: [], createdAt: at, modifiedAt: at, deletedAt: at };
    out.push({ attr: SCOPE, instance });
  }
  return out;
}
