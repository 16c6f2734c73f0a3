/**
 * How the history records a deletion (4.5.6): an instance of the deleted
 * attribute's type whose content is the NGSI-LD Null, with deletedAt.
 */
import type { AttributeInstance, StoredEntity } from './entity';
import { CONTENT_MEMBER, NGSI_NULL } from './parse';

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

export function deletedInstance(instance: AttributeInstance, at: string): AttributeInstance {
  const member = CONTENT_MEMBER[instance.type];
  const out = { type: instance.type, [member]: NULL_CONTENT[member] } as AttributeInstance;
  if (instance.datasetId !== undefined) out.datasetId = instance.datasetId;
  if (instance.createdAt !== undefined) out.createdAt = instance.createdAt;
  out.modifiedAt = at;
  out.deletedAt = at;
  return out;
}

/**
 * The attribute instances of `before` that `after` no longer has (by
 * attribute and datasetId), as deletion records; all of them when the
 * entity itself is deleted (`after` undefined).
 */
export function deletedInstances(before: StoredEntity, after: StoredEntity | undefined, at: string): Array<{ attr: string; instance: AttributeInstance }> {
  const out: Array<{ attr: string; instance: AttributeInstance }> = [];
  for (const [attr, instances] of Object.entries(before.attrs)) {
    const kept = after?.attrs[attr];
    for (const instance of instances) {
      if (kept?.some((k) => k.datasetId === instance.datasetId)) continue;
      out.push({ attr, instance: deletedInstance(instance, at) });
    }
  }
  return out;
}
