/**
 * Request payload -> stored (expanded) form. Accepts the normalized and the
 * concise representations (4.5.1, 4.5.2) wherever NGSI-LD accepts either, and
 * rejects anything structurally wrong with BadRequestData before it can be
 * written.
 */
import type { ActiveContext } from '../jsonld/activeContext';
import { badRequest, invalidRequest } from '../errors';
import { ATTRIBUTE_TYPES, AttributeInstance, AttributeMap, AttributeType, EntityFragment, Json, SCOPE } from './entity';
import { geometryError, GEOMETRY_TYPES } from './geojson';
import { isUri, isValidName } from './names';
import { dateTime } from './time';

/** The NGSI null, which only update and merge fragments may carry (5.5.4). */
export const NGSI_NULL = 'urn:ngsi-ld:null';

/** How strict the parse is, depending on the operation. */
export interface ParseMode {
  /** Merge-patch fragments: null / urn:ngsi-ld:null mark deletions and `value` may be partial. */
  fragment?: boolean;
  /** The entity id and type must be present (create, replace, batch). */
  requireIdAndType?: boolean;
  /** Merge: a null inside a compound value removes that member (JSON merge-patch), so it is kept for the merge. */
  mergeValues?: boolean;
  /** Temporal representation (4.5.7): an attribute lists instances over time, several of them per datasetId. */
  temporal?: boolean;
}

/** Members of an attribute object that are not sub-attributes. */
const ATTRIBUTE_MEMBERS = new Set([
  'type', '@type', 'value', 'object', 'objectType', 'languageMap', 'vocab', 'json', 'valueList', 'objectList',
  'datasetId', 'observedAt', 'unitCode', 'expiresAt', 'createdAt', 'modifiedAt', 'deletedAt', 'instanceId',
  'previousValue', 'previousObject', 'previousLanguageMap', 'previousVocab', 'previousJson', 'previousValueList',
  'previousObjectList', 'lang', 'valueType', 'entityIdSealed', 'entityTypeSealed',
]);

/** Members only the broker writes (notifications, temporal output); a client sending them is mistaken. */
const OUTPUT_ONLY_MEMBERS = [
  'instanceId', 'previousValue', 'previousObject', 'previousLanguageMap', 'previousVocab', 'previousJson',
  'previousValueList', 'previousObjectList',
];

/** The Property that carries a W3C Data Integrity proof of its entity (4.5.2.2), and the members only it may have. */
const PROOF_PROPERTY = 'ngsildproof';
const SEALED_MEMBERS = ['entityIdSealed', 'entityTypeSealed'];

/** Members NGSI-LD stamps itself; a client copy of them is ignored rather than rejected (a GET result may be sent back). */
const SYSTEM_MEMBERS = new Set(['createdAt', 'modifiedAt', 'deletedAt']);

/** Names that cannot be attributes of an entity: they are NGSI-LD members of an entity or attribute. */
const RESERVED_ENTITY_NAMES = new Set([
  'value', 'object', 'objectType', 'languageMap', 'vocab', 'json', 'valueList', 'objectList', 'datasetId',
  'observedAt', 'unitCode', 'instanceId', 'expiresAt', '@value', '@list', '@graph', '@reverse', '@nest', '@included',
]);

/** Which member carries the content of each attribute type. */
export const CONTENT_MEMBER: Record<AttributeType, string> = {
  Property: 'value',
  GeoProperty: 'value',
  Relationship: 'object',
  LanguageProperty: 'languageMap',
  VocabProperty: 'vocab',
  JsonProperty: 'json',
  ListProperty: 'valueList',
  ListRelationship: 'objectList',
};

/** Concise form: the member present tells the attribute type (4.5.2). */
const TYPE_BY_MEMBER: Array<[string, AttributeType]> = [
  ['value', 'Property'],
  ['object', 'Relationship'],
  ['languageMap', 'LanguageProperty'],
  ['vocab', 'VocabProperty'],
  ['json', 'JsonProperty'],
  ['valueList', 'ListProperty'],
  ['objectList', 'ListRelationship'],
];

const GEO_TYPES = new Set<string>(GEOMETRY_TYPES);

/** Attributes the core context defines as GeoProperties (4.7.1). */
const GEO_ATTRIBUTES = new Set([
  'https://uri.etsi.org/ngsi-ld/location',
  'https://uri.etsi.org/ngsi-ld/observationSpace',
  'https://uri.etsi.org/ngsi-ld/operationSpace',
]);
/** Sub-attributes nest; the request body's overall depth is limited before parsing. */
const MAX_DEPTH = 32;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A GeoJSON geometry given directly as a concise GeoProperty. */
const looksLikeGeometry = (v: Record<string, unknown>): boolean =>
  typeof v.type === 'string' && GEO_TYPES.has(v.type) && ('coordinates' in v || 'geometries' in v);

export class EntityParser {
  constructor(
    private readonly ctx: ActiveContext,
    private readonly mode: ParseMode = {},
  ) {}

  /** Parses a whole entity (create, replace, upsert, merge bodies). */
  entity(body: unknown): EntityFragment {
    if (!isPlainObject(body)) throw invalidRequest('An entity must be a JSON object');
    const fragment: EntityFragment = { attrs: {} };
    const id = body.id ?? body['@id'];
    if (id !== undefined) {
      if (!isUri(id) || id === NGSI_NULL) throw badRequest(`Entity id ${JSON.stringify(id)} is not a URI`);
      fragment.id = id;
    } else if (this.mode.requireIdAndType) {
      throw badRequest('The entity has no id');
    }
    const type = body.type ?? body['@type'];
    if (type !== undefined) fragment.types = this.types(type);
    else if (this.mode.requireIdAndType) throw badRequest('The entity has no type');
    if (body.scope !== undefined) {
      // In a temporal payload the scope has a history of its own, as Property instances (4.5.6).
      if (this.mode.temporal) fragment.attrs[SCOPE] = this.scopeInstances(body.scope);
      else fragment.scope = parseScopes(body.scope);
    }
    if (body.expiresAt !== undefined) {
      // 4.22: a transient entity. A merge or partial update may take the expiry away with the NGSI-LD Null.
      if (this.mode.fragment && (body.expiresAt === NGSI_NULL || body.expiresAt === null)) fragment.expiresAt = null;
      else fragment.expiresAt = expiry('The entity', body.expiresAt);
    }
    for (const [name, raw] of Object.entries(body)) {
      if (name === 'id' || name === '@id' || name === 'type' || name === '@type' || name === 'scope' || name === 'expiresAt') continue;
      if (name === '@context' || SYSTEM_MEMBERS.has(name)) continue;
      this.attribute(fragment.attrs, name, raw, 1);
    }
    return fragment;
  }

  /** The scope of a temporal payload: Property instances whose values are scopes, or the scopes themselves. */
  private scopeInstances(raw: unknown): AttributeInstance[] {
    const list = Array.isArray(raw) ? raw : [raw];
    if (!list.some(isPlainObject)) return [{ type: 'Property', value: parseScopes(raw) }];
    return list.map((item) => {
      if (!isPlainObject(item) || (item.type !== undefined && item.type !== 'Property') || item.value === undefined) {
        throw badRequest('A temporal scope is a list of Property instances whose values are scopes');
      }
      const instance: AttributeInstance = { type: 'Property', value: parseScopes(item.value) };
      if (item.observedAt !== undefined) {
        const observedAt = dateTime(item.observedAt);
        if (observedAt === undefined) throw badRequest('The observedAt of a scope instance must be a date-time');
        instance.observedAt = observedAt;
      }
      return instance;
    });
  }

  /** Parses the body of PATCH/PUT /entities/{id}/attrs/{attrId}: one attribute, named by the URL. */
  single(name: string, body: unknown): AttributeInstance {
    if (!isPlainObject(body)) throw badRequest('The attribute must be a JSON object');
    const { '@context': _ignored, ...rest } = body;
    if (Object.keys(rest).length === 0) throw badRequest('The attribute fragment is empty');
    if (!isValidName(name)) throw badRequest(`Invalid attribute name ${JSON.stringify(name)}`);
    // The body is always an attribute here, never a concise compound value, even with only sub-attributes.
    return this.instance(name, rest, 1, this.mode.fragment);
  }

  types(raw: unknown): string[] {
    const list = Array.isArray(raw) ? raw : [raw];
    if (list.length === 0) throw badRequest('The entity type must not be empty');
    const out: string[] = [];
    for (const t of list) {
      if (!isValidName(t)) throw badRequest(`Invalid entity type ${JSON.stringify(t)}`);
      const iri = this.ctx.expandTerm(t);
      if (iri.startsWith('@')) throw badRequest(`${t} is a JSON-LD keyword and cannot be an entity type`);
      if (!out.includes(iri)) out.push(iri);
    }
    return out;
  }

  private attribute(target: AttributeMap, name: string, raw: unknown, depth: number): void {
    if (RESERVED_ENTITY_NAMES.has(name)) throw badRequest(`${name} is a reserved name and cannot be an attribute`);
    if (!isValidName(name)) throw badRequest(`Invalid attribute name ${JSON.stringify(name)}`);
    const iri = this.ctx.expandTerm(name);
    if (target[iri]) throw badRequest(`Attribute ${name} is given twice`);
    const raws = this.isMultiInstance(raw) ? (raw as unknown[]) : [raw];
    const instances = raws.map((r) => this.instance(name, r, depth));
    if (GEO_ATTRIBUTES.has(iri) && instances.some((i) => i.type !== 'GeoProperty' && i.value !== NGSI_NULL)) {
      throw badRequest(`${name} must be a GeoProperty`);
    }
    const seen = new Set<string | undefined>();
    for (const inst of instances) {
      if (seen.has(inst.datasetId) && !this.mode.temporal) {
        throw badRequest(`Attribute ${name} has two instances with ${inst.datasetId ? `datasetId ${inst.datasetId}` : 'no datasetId'}`);
      }
      seen.add(inst.datasetId);
    }
    target[iri] = instances;
  }

  /** An array is several instances of one attribute when every element is an attribute object; otherwise it is a concise array value. */
  private isMultiInstance(raw: unknown): boolean {
    return (
      Array.isArray(raw) &&
      raw.length > 0 &&
      raw.every((r) => isPlainObject(r) && (typeof r.type === 'string' && (ATTRIBUTE_TYPES as readonly string[]).includes(r.type) || TYPE_BY_MEMBER.some(([m]) => m in r)))
    );
  }

  private instance(name: string, raw: unknown, depth: number, untypedFragment = false): AttributeInstance {
    if (depth > MAX_DEPTH) throw badRequest('The payload is nested too deeply');
    if (raw === null || raw === NGSI_NULL) {
      if (this.mode.fragment) return { type: 'Property', value: NGSI_NULL };
      throw badRequest(`Attribute ${name} has a null value`);
    }
    if (!isPlainObject(raw) || looksLikeGeometry(raw)) return this.concise(name, raw);
    for (const member of OUTPUT_ONLY_MEMBERS) {
      if (member in raw) throw badRequest(`Attribute ${name}: ${member} is set by the broker and cannot be written`);
    }
    this.checkProof(name, raw);
    const declared = raw.type ?? raw['@type'];
    let type: AttributeType;
    if (declared === undefined) {
      const found = TYPE_BY_MEMBER.find(([member]) => member in raw);
      if (!found && !untypedFragment) return this.concise(name, raw);
      if (!found) {
        // Sub-attributes or metadata only: the stored attribute keeps its type.
        const inst: AttributeInstance = { type: 'Property' };
        this.metadata(name, raw, inst);
        this.subAttributes(name, raw, inst, depth);
        return inst;
      }
      type = found[1];
      if (type === 'Property' && isPlainObject(raw.value) && looksLikeGeometry(raw.value)) type = 'GeoProperty';
    } else if (typeof declared === 'string' && (ATTRIBUTE_TYPES as readonly string[]).includes(declared)) {
      type = declared as AttributeType;
    } else {
      throw badRequest(`Attribute ${name} has an invalid type ${JSON.stringify(declared)}`);
    }
    const inst: AttributeInstance = { type };
    this.content(name, type, raw, inst);
    this.metadata(name, raw, inst);
    if (raw.unitCode !== undefined && (type === 'Relationship' || type === 'ListRelationship' || type === 'JsonProperty')) {
      throw badRequest(`Attribute ${name} is a ${type} and cannot have a unitCode`);
    }
    this.subAttributes(name, raw, inst, depth);
    return inst;
  }

  /**
   * 4.5.2.2: entityIdSealed and entityTypeSealed are never present but on
   * the ngsildproof Property, whose value is the proof object and whose
   * sealed members are strings.
   */
  private checkProof(name: string, raw: Record<string, unknown>): void {
    const sealed = SEALED_MEMBERS.filter((m) => m in raw);
    if (name !== PROOF_PROPERTY) {
      if (sealed.length > 0) throw badRequest(`Attribute ${name}: ${sealed[0]} may only be a member of ${PROOF_PROPERTY}`);
      return;
    }
    const partial = this.mode.fragment && (!('value' in raw) || raw.value === NGSI_NULL);
    if (!partial && !isPlainObject(raw.value)) throw badRequest(`${PROOF_PROPERTY}: the value must be a proof object`);
    for (const m of sealed) if (typeof raw[m] !== 'string') throw badRequest(`${PROOF_PROPERTY}: ${m} must be a string`);
  }

  private subAttributes(name: string, raw: Record<string, unknown>, inst: AttributeInstance, depth: number): void {
    for (const [key, sub] of Object.entries(raw)) {
      if (ATTRIBUTE_MEMBERS.has(key)) continue;
      if (key === '@context') throw badRequest(`A @context inside attribute ${name} is not allowed`);
      inst.sub ??= {};
      const subMap: AttributeMap = {};
      this.attribute(subMap, key, sub, depth + 1);
      for (const [subIri, subInstances] of Object.entries(subMap)) {
        if (subInstances.length !== 1) throw badRequest(`Sub-attribute ${key} of ${name} must have a single instance`);
        inst.sub[subIri] = subInstances[0];
      }
    }
  }

  /** A bare value (concise form): a Property, or a GeoProperty when it is a GeoJSON geometry. */
  private concise(name: string, raw: unknown): AttributeInstance {
    if (isPlainObject(raw) && looksLikeGeometry(raw)) {
      const error = geometryError(raw);
      if (error) throw badRequest(`Attribute ${name}: ${error}`);
      return { type: 'GeoProperty', value: raw as Json };
    }
    this.checkNulls(name, raw);
    return { type: 'Property', value: this.ctx.expandValue(raw) as Json };
  }

  /** 5.5.4: a null inside a compound value is an NGSI-LD null, allowed only where it deletes (merge). */
  private checkNulls(name: string, value: unknown): void {
    if (this.mode.mergeValues) return;
    const stack = [value];
    while (stack.length > 0) {
      const v = stack.pop();
      if (v === null || v === NGSI_NULL) throw badRequest(`Attribute ${name} has a null inside its value`);
      if (typeof v === 'object') stack.push(...Object.values(v as object));
    }
  }

  private content(name: string, type: AttributeType, raw: Record<string, unknown>, inst: AttributeInstance): void {
    const member = CONTENT_MEMBER[type];
    for (const [other] of TYPE_BY_MEMBER) {
      if (other !== member && other in raw) throw badRequest(`Attribute ${name} is a ${type} and cannot have "${other}"`);
    }
    const content = raw[member];
    if (content === undefined) {
      // A merge or partial update may change metadata or sub-attributes only.
      if (this.mode.fragment) return;
      throw badRequest(`Attribute ${name} is a ${type} and needs "${member}"`);
    }
    if (content === null) throw badRequest(`Attribute ${name} has a null ${member}`);
    if (content === NGSI_NULL) {
      // In a temporal payload it is an instance of the history like any other: the attribute was null then (5.6.11.4).
      if (this.mode.temporal) {
        (inst as unknown as Record<string, unknown>)[member] = NGSI_NULL;
        return;
      }
      if (!this.mode.fragment) throw badRequest(`Attribute ${name}: urn:ngsi-ld:null is only allowed in updates`);
      inst.value = NGSI_NULL;
      return;
    }
    switch (type) {
      case 'Property':
        this.checkNulls(name, content);
        inst.value = this.ctx.expandValue(content) as Json;
        return;
      case 'GeoProperty': {
        const geometry = typeof content === 'string' ? parseGeometryString(name, content) : content;
        const error = geometryError(geometry, false);
        if (error) throw badRequest(`Attribute ${name}: ${error}`);
        inst.value = geometry as Json;
        return;
      }
      case 'Relationship':
        if (!(isUri(content) || (Array.isArray(content) && content.length > 0 && content.every(isUri)))) {
          throw badRequest(`Relationship ${name} must have an object that is a URI or an array of URIs`);
        }
        if (content === NGSI_NULL || (Array.isArray(content) && content.includes(NGSI_NULL))) {
          throw badRequest(`Relationship ${name}: urn:ngsi-ld:null is only allowed in updates`);
        }
        inst.object = content as string | string[];
        if (raw.objectType !== undefined) inst.objectType = this.typeList(name, raw.objectType);
        return;
      case 'LanguageProperty':
        if (!isPlainObject(content) || !Object.values(content).every(isLanguageValue) || '' in content) {
          throw badRequest(`LanguageProperty ${name} needs a languageMap of language tags to strings`);
        }
        if (Object.values(content).includes(NGSI_NULL)) {
          // {"@none": "urn:ngsi-ld:null"} is how a LanguageProperty is deleted (4.6.5).
          if (!this.mode.fragment) throw badRequest(`LanguageProperty ${name}: urn:ngsi-ld:null is only allowed in updates`);
          inst.value = NGSI_NULL;
          return;
        }
        if (raw.valueType !== undefined && raw.valueType !== 'langString') {
          throw badRequest(`LanguageProperty ${name}: valueType must be langString`);
        }
        inst.languageMap = content as Record<string, string | string[]>;
        return;
      case 'VocabProperty': {
        const list = Array.isArray(content) ? content : [content];
        if (list.length === 0 || !list.every((v) => typeof v === 'string' && v.length > 0)) {
          throw badRequest(`VocabProperty ${name} needs a vocab that is a term or an array of terms`);
        }
        const expanded = (list as string[]).map((v) => this.ctx.expandTerm(v));
        inst.vocab = Array.isArray(content) ? expanded : expanded[0];
        return;
      }
      case 'JsonProperty':
        if (typeof content !== 'object') throw badRequest(`JsonProperty ${name} needs a json object or array`);
        inst.json = content as Json;
        return;
      case 'ListProperty':
        if (!Array.isArray(content)) throw badRequest(`ListProperty ${name} needs a valueList array`);
        inst.valueList = content.map((v) => this.ctx.expandValue(isPlainObject(v) && 'value' in v && Object.keys(v).length === 1 ? v.value : v) as Json);
        return;
      case 'ListRelationship': {
        if (!Array.isArray(content)) throw badRequest(`ListRelationship ${name} needs an objectList array`);
        const targets = content.map((o) => (isPlainObject(o) ? o.object : o));
        if (!targets.every(isUri)) throw badRequest(`ListRelationship ${name} must list URIs`);
        inst.objectList = targets as string[];
        if (raw.objectType !== undefined) inst.objectType = this.typeList(name, raw.objectType);
        return;
      }
    }
  }

  private metadata(name: string, raw: Record<string, unknown>, inst: AttributeInstance): void {
    if (raw.datasetId !== undefined && raw.datasetId !== '@none') {
      // 5.5.8: a datasetId names an instance; it cannot itself be deleted.
      if (raw.datasetId === NGSI_NULL) throw badRequest(`Attribute ${name}: a datasetId cannot be set to urn:ngsi-ld:null`);
      if (!isUri(raw.datasetId)) throw badRequest(`Attribute ${name} has a datasetId that is not a URI`);
      inst.datasetId = raw.datasetId;
    }
    if (raw.observedAt !== undefined) {
      const observedAt = dateTime(raw.observedAt);
      if (observedAt === undefined || !(raw.observedAt as string).endsWith('Z')) {
        throw badRequest(`Attribute ${name} has an observedAt that is not a UTC DateTime (ending in Z)`);
      }
      inst.observedAt = observedAt;
    }
    // 4.22: a transient attribute instance, stored until then.
    if (raw.expiresAt !== undefined) inst.expiresAt = expiry(`Attribute ${name}`, raw.expiresAt);
    if (raw.unitCode !== undefined) {
      if (typeof raw.unitCode !== 'string' || raw.unitCode.length === 0) throw badRequest(`Attribute ${name} has an invalid unitCode`);
      inst.unitCode = raw.unitCode;
    }
    // Checked by checkProof: strings, on ngsildproof only.
    if (typeof raw.entityIdSealed === 'string') inst.entityIdSealed = raw.entityIdSealed;
    if (typeof raw.entityTypeSealed === 'string') inst.entityTypeSealed = this.ctx.expandTerm(raw.entityTypeSealed);
  }

  private typeList(name: string, raw: unknown): string | string[] {
    const list = Array.isArray(raw) ? raw : [raw];
    if (!list.every(isValidName)) throw badRequest(`Attribute ${name} has an invalid objectType`);
    const expanded = (list as string[]).map((t) => this.ctx.expandTerm(t));
    return Array.isArray(raw) ? expanded : expanded[0];
  }

}

/** 4.7.2: a GeoProperty value may arrive as the JSON text of a geometry. */
function parseGeometryString(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest(`Attribute ${name}: the geometry string is not valid GeoJSON`);
  }
}

function isLanguageValue(v: unknown): boolean {
  return typeof v === 'string' || (Array.isArray(v) && v.every((s) => typeof s === 'string'));
}

/** An expiresAt (4.22): a DateTime, past ones included (the resource is then gone at once). */
function expiry(what: string, raw: unknown): string {
  const at = dateTime(raw);
  if (at === undefined) throw badRequest(`${what} has an expiresAt that is not a DateTime`);
  return at;
}

/** Scopes (4.18): one path or a list of them. */
export function parseScopes(raw: unknown): string[] {
  const list = Array.isArray(raw) ? raw : [raw];
  if (!list.every((s) => typeof s === 'string' && /^\/[^\s/#+]+(\/[^\s/#+]+)*$/.test(s))) {
    throw badRequest('A scope must be a path such as /Madrid/Gardens');
  }
  return list as string[];
}
