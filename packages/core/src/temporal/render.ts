/**
 * Temporal representations (4.5.7 to 4.5.9, 4.5.19): each attribute as the
 * list of its instances (normalized), as value-time pairs (temporalValues),
 * or as aggregates per period (aggregatedValues).
 */
import type { AttributeInstance } from '../model/entity';
import type { EntityRenderer } from '../model/render';
import type { TimeProperty } from './params';
import { withMembers } from '../model/withMembers';

type Out = Record<string, unknown>;

export interface TemporalAttribute {
  attr: string;
  instances: Array<{ instanceId: string; instance: AttributeInstance }>;
}

/** Instance ids as URIs (4.5.7). */
export const instanceUri = (id: string) => `urn:ngsi-ld:attribute:instance:${id}`;

/**
 * The pair member of each attribute kind in the simplified temporal
 * representation (4.5.9); the content of each pair is the attribute's
 * simplified content (4.5.4), compacted like it.
 */
const PAIR_MEMBERS: Record<string, string> = {
  Relationship: 'objects',
  LanguageProperty: 'languageMaps',
  VocabProperty: 'vocabs',
  JsonProperty: 'jsons',
  ListProperty: 'valueLists',
  ListRelationship: 'objectLists',
};

export function renderTemporalEntity(
  id: string,
  types: string[],
  attributes: TemporalAttribute[],
  renderer: EntityRenderer,
  simplified: boolean,
  timeproperty: TimeProperty,
): Out {
  const out: Out = renderer.coreMembers(id, types);
  for (const { attr, instances } of attributes) {
    const name = renderer.nameOf(attr);
    if (simplified) {
      // One simplified attribute per datasetId, the default instance first (4.5.9); a single one stands alone.
      const byDataset = new Map<string | undefined, AttributeInstance[]>();
      for (const { instance } of instances) {
        const list = byDataset.get(instance.datasetId);
        if (list) list.push(instance);
        else byDataset.set(instance.datasetId, [instance]);
      }
      const named = [...byDataset.keys()].filter((k) => k !== undefined);
      const keys = byDataset.has(undefined) ? [undefined, ...named] : named;
      const simplifiedOf = (datasetId: string | undefined) => {
        const list = byDataset.get(datasetId)!;
        const type = list[0].type ?? 'Property';
        const member = PAIR_MEMBERS[type] ?? 'values';
        // A ListRelationship pairs its bare object list, whatever the representation's format.
        const content = (i: AttributeInstance) => (type === 'ListRelationship' ? i.objectList : renderer.simplified(i));
        return { type, ...(datasetId === undefined ? {} : { datasetId }), [member]: list.map((i) => [content(i), i[timeproperty] ?? i.modifiedAt]) };
      };
      out[name] = keys.length === 1 ? simplifiedOf(keys[0]) : keys.map(simplifiedOf);
    } else {
      out[name] = instances.map(({ instanceId, instance }) => withMembers(renderer.attributeInstances([instance]) as Out, { instanceId: instanceUri(instanceId) }));
    }
  }
  return out;
}

export interface Aggregate {
  attr: string;
  method: string;
  value: number | null;
  start: string;
  end: string;
}

/** aggregatedValues: `{attr: {type, avg: [[value, start, end], ...], ...}}`. */
export function renderAggregatedEntity(id: string, types: string[], aggregates: Aggregate[], attrTypes: Map<string, string>, renderer: EntityRenderer): Out {
  const out: Out = renderer.coreMembers(id, types);
  for (const a of aggregates) {
    const name = renderer.nameOf(a.attr);
    const attr = (out[name] ??= { type: attrTypes.get(a.attr) ?? 'Property' }) as Out;
    ((attr[a.method] ??= []) as unknown[]).push([a.value, a.start, a.end]);
  }
  return out;
}
