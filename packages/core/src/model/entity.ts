/**
 * The stored (expanded) form of an NGSI-LD entity.
 *
 * Every attribute name and entity type is a full IRI, expanded with the
 * @context of the request that wrote it; responses compact it again with the
 * @context of the request that reads it. The shape stays close to the
 * normalized NGSI-LD representation so that SQL can address values directly
 * (`attrs -> '<iri>' -> 0 -> 'value'`).
 */

export type AttributeType =
  | 'Property'
  | 'Relationship'
  | 'GeoProperty'
  | 'LanguageProperty'
  | 'VocabProperty'
  | 'JsonProperty'
  | 'ListProperty'
  | 'ListRelationship';

export const ATTRIBUTE_TYPES: readonly AttributeType[] = [
  'Property',
  'Relationship',
  'GeoProperty',
  'LanguageProperty',
  'VocabProperty',
  'JsonProperty',
  'ListProperty',
  'ListRelationship',
];

/** A JSON value as it travels through the broker. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * One instance of an attribute (or of a sub-attribute).
 *
 * The member that carries the content depends on `type`:
 * Property / GeoProperty -> `value`, Relationship -> `object`,
 * LanguageProperty -> `languageMap`, VocabProperty -> `vocab` (expanded IRIs),
 * JsonProperty -> `json` (never expanded), ListProperty -> `valueList`,
 * ListRelationship -> `objectList`.
 *
 * Sub-attributes live in `sub`, keyed by expanded IRI; a sub-attribute has a
 * single instance.
 */
export interface AttributeInstance {
  type: AttributeType;
  value?: Json;
  object?: string | string[];
  objectType?: string | string[];
  languageMap?: Record<string, string | string[]>;
  vocab?: string | string[];
  json?: Json;
  valueList?: Json[];
  objectList?: string[];
  datasetId?: string;
  observedAt?: string;
  unitCode?: string;
  createdAt?: string;
  modifiedAt?: string;
  /** 4.22: when this instance stops being stored. */
  expiresAt?: string;
  /** Only in the history: when this instance was deleted (its content is then the NGSI-LD Null). */
  deletedAt?: string;
  /** On the ngsildproof Property alone (4.5.2.2): the entity id its proof seals, as given. */
  entityIdSealed?: string;
  /** On the ngsildproof Property alone: the entity type its proof seals, expanded (a vocabulary term, as types are). */
  entityTypeSealed?: string;
  sub?: Record<string, AttributeInstance>;
}

/** Attribute instances keyed by expanded attribute IRI; one entry per datasetId. */
export type AttributeMap = Record<string, AttributeInstance[]>;

/** How 207 answers and the attribute history name the scope, which is not an attribute. */
export const SCOPE = 'https://uri.etsi.org/ngsi-ld/scope';

export interface StoredEntity {
  id: string;
  /** Expanded type IRIs; an entity has at least one. */
  types: string[];
  /** Scopes as given (they are paths, not IRIs). */
  scope?: string[];
  createdAt: string;
  modifiedAt: string;
  /** 4.22: when the entity stops being stored. */
  expiresAt?: string;
  attrs: AttributeMap;
}

/** An entity as parsed from a request: system timestamps are not yet stamped. */
export interface EntityFragment {
  id?: string;
  types?: string[];
  scope?: string[];
  /** The entity's expiry; null (in merges and partial updates) takes it away. */
  expiresAt?: string | null;
  attrs: AttributeMap;
}
