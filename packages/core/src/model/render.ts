/**
 * Stored (expanded) form -> response representation: normalized, concise or
 * simplified (keyValues), compacted with the request's @context (4.5).
 */
import type { ActiveContext } from '../jsonld/activeContext';
import type { AttributeInstance, StoredEntity } from './entity';
import type { Geometry } from './geojson';

export type Format = 'normalized' | 'concise' | 'keyValues';

export interface RenderOptions {
  format: Format;
  /** Add createdAt / modifiedAt to the entity and its attributes. */
  sysAttrs?: boolean;
  /** Expanded attribute IRIs to keep (`attrs`, `pick`); undefined keeps all. */
  keep?: ReadonlySet<string>;
  /** Expanded attribute IRIs to drop (`omit`). */
  drop?: ReadonlySet<string>;
  /** `pick`/`omit` may also name the entity's own id and type. */
  hideId?: boolean;
  hideType?: boolean;
  /** Language tags in order of preference (`lang`), `*` for all. */
  lang?: string[];
  /** Keep only the instances with these datasetIds (`@none` is the default instance). */
  datasetIds?: ReadonlySet<string>;
}

/**
 * The representation without its projection (`attrs`, `pick`, `omit`):
 * how an entity reached through a join is shown unless the projection
 * reaches into it (4.5.23, 4.21).
 */
export function unprojected(options: RenderOptions): RenderOptions {
  const { keep: _keep, drop: _drop, hideId: _hideId, hideType: _hideType, ...base } = options;
  return base;
}

/** Whether the projection (`attrs`, `pick`, `omit`) keeps the attribute with this expanded IRI. */
export function keepsAttribute(options: RenderOptions, iri: string): boolean {
  return (!options.keep || options.keep.has(iri)) && !options.drop?.has(iri);
}

type Out = Record<string, unknown>;

export class EntityRenderer {
  /** Instances that expired before this (4.22) are gone, whether or not the store has removed them yet. */
  private readonly now = Date.now();

  constructor(
    private readonly ctx: ActiveContext,
    private readonly options: RenderOptions,
  ) {}

  /** id and type, as pick / omit leave them (4.21): the start of every entity representation. */
  coreMembers(id: string, types: string[]): Out {
    const out: Out = {};
    if (!this.options.hideId) out.id = id;
    if (!this.options.hideType) out.type = this.typeValue(types);
    return out;
  }

  entity(e: StoredEntity): Out {
    const o = this.options;
    const out = this.coreMembers(e.id, e.types);
    if (e.scope) out.scope = e.scope.length === 1 ? e.scope[0] : e.scope;
    if (o.sysAttrs && o.format !== 'keyValues') {
      out.createdAt = e.createdAt;
      out.modifiedAt = e.modifiedAt;
      if (e.expiresAt) out.expiresAt = e.expiresAt;
    }
    for (const [iri, instances] of Object.entries(e.attrs)) {
      if (!keepsAttribute(o, iri)) continue;
      const selected = instances.filter((i) => (!o.datasetIds || o.datasetIds.has(i.datasetId ?? '@none')) && !(i.expiresAt && Date.parse(i.expiresAt) <= this.now));
      if (selected.length === 0) continue;
      out[this.ctx.compactIri(iri)] = this.attributeInstances(selected);
    }
    return out;
  }

  /** One attribute (all its instances), as GET /entities/{id}/attrs/{attr} would show it. */
  attributeInstances(instances: AttributeInstance[]): unknown {
    if (instances.length === 1) return this.attribute(instances[0]);
    if (this.options.format === 'keyValues') {
      // 4.5.4: several instances simplify to a map keyed by datasetId.
      return { dataset: Object.fromEntries(instances.map((i) => [i.datasetId ?? '@none', this.attribute(i)])) };
    }
    // Inside an array every instance keeps its content member: a bare value there would read back as part of an array value.
    return instances.map((i) => this.attribute(i, true));
  }

  /** The name an attribute has in this representation. */
  nameOf(iri: string): string {
    return this.ctx.compactIri(iri);
  }

  typeValue(types: string[]): string | string[] {
    const compact = types.map((t) => this.ctx.compactIri(t));
    return compact.length === 1 ? compact[0] : compact;
  }

  private attribute(a: AttributeInstance, inArray = false): unknown {
    if (this.options.format === 'keyValues') return this.simplified(a);
    const { member, value } = this.content(a);
    const hasDetail =
      inArray || a.datasetId !== undefined || a.observedAt !== undefined || a.unitCode !== undefined || a.sub !== undefined || a.deletedAt !== undefined ||
      a.entityIdSealed !== undefined || a.entityTypeSealed !== undefined ||
      this.options.sysAttrs || member === 'lang';
    const out: Out = {};
    if (this.options.format === 'normalized') {
      out.type = member === 'lang' ? 'Property' : a.type;
    } else if (!hasDetail && (a.type === 'GeoProperty' || (a.type === 'Property' && !isPlainObject(value)))) {
      // Concise: a Property with nothing else is its bare value, and a bare GeoJSON geometry reads back as a GeoProperty.
      return value;
    }
    if (member === 'lang') {
      const [lang, text] = value as [string, unknown];
      out.value = text;
      out.lang = lang;
    } else {
      out[member] = value;
    }
    if (a.objectType !== undefined) {
      out.objectType = Array.isArray(a.objectType) ? a.objectType.map((t) => this.ctx.compactIri(t)) : this.ctx.compactIri(a.objectType);
    }
    if (a.datasetId !== undefined) out.datasetId = a.datasetId;
    if (a.observedAt !== undefined) out.observedAt = a.observedAt;
    if (a.unitCode !== undefined) out.unitCode = a.unitCode;
    if (a.deletedAt !== undefined) out.deletedAt = a.deletedAt;
    // Plain members, not sub-attributes (4.5.2.2).
    if (a.entityIdSealed !== undefined) out.entityIdSealed = a.entityIdSealed;
    if (a.entityTypeSealed !== undefined) out.entityTypeSealed = this.ctx.compactIri(a.entityTypeSealed);
    if (this.options.sysAttrs) {
      if (a.createdAt) out.createdAt = a.createdAt;
      if (a.modifiedAt) out.modifiedAt = a.modifiedAt;
      if (a.expiresAt) out.expiresAt = a.expiresAt;
    }
    if (a.sub) {
      for (const [iri, sub] of Object.entries(a.sub)) out[this.ctx.compactIri(iri)] = this.attribute(sub);
    }
    return out;
  }

  /** 4.5.4: most kinds simplify to their bare content; LanguageProperty, JsonProperty and VocabProperty keep a one-key wrapper so that they stay recognisable. */
  simplified(a: AttributeInstance): unknown {
    const { member, value } = this.content(a);
    if (member === 'lang') return (value as [string, unknown])[1];
    if (member === 'languageMap' || member === 'json' || member === 'vocab') return { [member]: value };
    return value;
  }

  /** The member carrying the attribute's content and its compacted value; `lang` when a language was picked. */
  private content(a: AttributeInstance): { member: string; value: unknown } {
    switch (a.type) {
      case 'Relationship':
        return { member: 'object', value: a.object };
      case 'ListRelationship':
        return {
          member: 'objectList',
          value: this.options.format === 'normalized' ? (a.objectList ?? []).map((object) => ({ object })) : a.objectList,
        };
      case 'LanguageProperty': {
        const picked = this.pickLanguage(a.languageMap ?? {});
        return picked ? { member: 'lang', value: picked } : { member: 'languageMap', value: a.languageMap };
      }
      case 'VocabProperty': {
        const v = a.vocab ?? [];
        return { member: 'vocab', value: Array.isArray(v) ? v.map((x) => this.ctx.compactIri(x)) : this.ctx.compactIri(v) };
      }
      case 'JsonProperty':
        return { member: 'json', value: a.json };
      case 'ListProperty':
        return { member: 'valueList', value: (a.valueList ?? []).map((v) => this.ctx.compactValue(v)) };
      case 'GeoProperty':
        return { member: 'value', value: a.value };
      default:
        return { member: 'value', value: this.ctx.compactValue(a.value) };
    }
  }

  /** With `lang`, a LanguageProperty becomes a Property holding the best-matching string (4.15); `*` takes any language. */
  private pickLanguage(map: Record<string, string | string[]>): [string, string | string[]] | undefined {
    const wanted = this.options.lang;
    if (!wanted) return undefined;
    for (const tag of wanted) {
      if (tag === '*') break;
      if (map[tag] !== undefined) return [tag, map[tag]];
      const prefix = Object.keys(map).find((k) => k.toLowerCase().split('-')[0] === tag.toLowerCase().split('-')[0]);
      if (prefix) return [prefix, map[prefix]];
    }
    if (map['@none'] !== undefined) return ['@none', map['@none']];
    const first = Object.keys(map)[0];
    return first === undefined ? undefined : [first, map[first]];
  }
}

function isPlainObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** GeoJSON Feature of an entity (6.3.6): the geometry comes from `geometryProperty` (default `location`). */
export function toFeature(rendered: Out, entity: StoredEntity, geometryIri: string): Out {
  const { id, ...properties } = rendered;
  const instances = entity.attrs[geometryIri] ?? [];
  // The default instance (no datasetId) is the entity's geometry when there are several.
  const instance = instances.find((i) => i.datasetId === undefined) ?? instances[0];
  const geometry = instance?.type === 'GeoProperty' ? (instance.value as unknown as Geometry) : null;
  return { id: id ?? entity.id, type: 'Feature', geometry, properties };
}
