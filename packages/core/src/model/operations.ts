/**
 * The effect of each NGSI-LD write operation on a stored entity (5.6). Pure
 * functions: they take the current state and a parsed fragment and return
 * the new state, so the store can apply them inside its transaction and a
 * batch can apply them to many entities at once.
 */
import { badRequest, notFound } from '../errors';
import { AttributeInstance, AttributeMap, EntityFragment, Json, SCOPE, StoredEntity } from './entity';
import { withMembers } from './withMembers';
import { NGSI_NULL } from './parse';

/** Per-attribute outcome of append / update (5.6.3, 5.6.2): 207 lists what was not updated and why. */
export interface UpdateResult {
  updated: string[];
  notUpdated: Array<{ attributeName: string; reason: string }>;
}

const sameDataset = (a: AttributeInstance, b: AttributeInstance): boolean => a.datasetId === b.datasetId;

/** An instance with its system timestamps (createdAt kept when given). */
export function stamp(inst: AttributeInstance, now: string, createdAt?: string): AttributeInstance {
  return withMembers(inst, { createdAt: createdAt ?? now, modifiedAt: now });
}

/** A new entity from a complete fragment (create, upsert of an unknown id). */
export function createEntity(fragment: EntityFragment, now: string): StoredEntity {
  if (!fragment.id || !fragment.types) throw badRequest('An entity needs an id and a type');
  const attrs: AttributeMap = {};
  for (const [iri, instances] of Object.entries(fragment.attrs)) attrs[iri] = instances.map((i) => stamp(i, now));
  const entity: StoredEntity = { id: fragment.id, types: fragment.types, createdAt: now, modifiedAt: now, attrs };
  if (fragment.scope) entity.scope = fragment.scope;
  if (fragment.expiresAt) entity.expiresAt = fragment.expiresAt;
  return entity;
}

/** Replace Entity (5.6.18): everything but id and createdAt comes from the fragment. */
export function replaceEntity(current: StoredEntity, fragment: EntityFragment, now: string): StoredEntity {
  const replaced = createEntity({ ...fragment, id: current.id, types: fragment.types ?? current.types }, now);
  replaced.createdAt = current.createdAt;
  return replaced;
}

/**
 * Append Entity Attributes (5.6.3): adds new attributes and instances; an
 * existing instance is overwritten unless `noOverwrite`. Types given are
 * added; a scope given replaces the scope (or joins it with `noOverwrite`).
 */
export function appendAttributes(
  current: StoredEntity,
  fragment: EntityFragment,
  now: string,
  noOverwrite: boolean,
): { entity: StoredEntity; result: UpdateResult } {
  return writeAttributes(current, fragment, now, (existing) => (existing ? !noOverwrite : true), {
    scope: (scope) => (noOverwrite && current.scope ? [...new Set([...current.scope, ...scope])] : scope),
    skipped: 'The attribute exists and noOverwrite was requested',
  });
}

/**
 * Update Entity Attributes (5.6.2.4, V1.9.1): instances that exist are
 * replaced, the others appended (earlier versions only replaced); types
 * given are added.
 */
export function updateAttributes(current: StoredEntity, fragment: EntityFragment, now: string): { entity: StoredEntity; result: UpdateResult } {
  return writeAttributes(current, fragment, now, () => true, {
    scope: (scope) => (current.scope ? scope : undefined),
    skipped: 'The entity has no such attribute (or datasetId)',
  });
}

/** The shared walk of append and update: `write` decides per instance whether it is written. */
function writeAttributes(
  current: StoredEntity,
  fragment: EntityFragment,
  now: string,
  write: (exists: boolean) => boolean,
  rules: { scope: (scope: string[]) => string[] | undefined; skipped: string },
): { entity: StoredEntity; result: UpdateResult } {
  const next: AttributeMap = { ...current.attrs };
  const result: UpdateResult = { updated: [], notUpdated: [] };
  for (const [iri, instances] of Object.entries(fragment.attrs)) {
    let list = [...(next[iri] ?? [])];
    let changed = false;
    for (const inst of instances) {
      const at = list.findIndex((x) => sameDataset(x, inst));
      if (!write(at >= 0)) continue;
      changed = true;
      if (isNgsiNull(inst)) {
        if (at >= 0) list.splice(at, 1);
        else changed = false;
      } else if (at < 0) list.push(stamp(inst, now));
      else list[at] = stamp(inst, now, list[at].createdAt);
    }
    if (changed) {
      list = list.filter(Boolean);
      if (list.length === 0) delete next[iri];
      else next[iri] = list;
      result.updated.push(iri);
    } else {
      result.notUpdated.push({ attributeName: iri, reason: rules.skipped });
    }
  }
  let entity = withAttrs(current, next, now, result.updated.length > 0);
  if (fragment.types) {
    const added = fragment.types.filter((t) => !current.types.includes(t));
    if (added.length > 0) entity = { ...entity, types: [...current.types, ...added], modifiedAt: now };
  }
  if (fragment.scope) {
    const scope = rules.scope(fragment.scope);
    if (scope) {
      entity = withMembers(entity, { scope, modifiedAt: now });
      result.updated.push(SCOPE);
    } else {
      result.notUpdated.push({ attributeName: SCOPE, reason: rules.skipped });
    }
  }
  return { entity, result };
}


/** Delete Attribute on `scope` (4.18): removes the entity's scope. */
export function deleteScope(current: StoredEntity, now: string): StoredEntity {
  if (!current.scope) throw notFound(`Entity ${current.id} has no scope`);
  const { scope: _removed, ...rest } = current;
  return { ...rest, modifiedAt: now };
}

/** Partial Attribute Update (5.6.4): merges the given members into one existing instance. */
export function patchAttribute(
  current: StoredEntity,
  iri: string,
  patch: AttributeInstance,
  now: string,
  name: string,
  declaredType?: string,
): StoredEntity {
  const list = current.attrs[iri];
  const at = list?.findIndex((x) => sameDataset(x, patch)) ?? -1;
  if (!list || at < 0) throw notFound(`Entity ${current.id} has no attribute ${name}${patch.datasetId ? ` with datasetId ${patch.datasetId}` : ''}`);
  if (declaredType !== undefined && declaredType !== list[at].type) {
    throw badRequest(`Attribute ${name} is a ${list[at].type}, not a ${declaredType}`);
  }
  if (isNgsiNull(patch)) {
    const remaining = list.filter((_, i) => i !== at);
    const next = { ...current.attrs };
    if (remaining.length === 0) delete next[iri];
    else next[iri] = remaining;
    return withAttrs(current, next, now, true);
  }
  const merged = mergeInstance(list[at], patch, now, false);
  return withAttrs(current, { ...current.attrs, [iri]: list.map((x, i) => (i === at ? merged : x)) }, now, true);
}

/** Replace Attribute (5.6.19): the instance must exist and is replaced whole. */
export function replaceAttribute(current: StoredEntity, iri: string, inst: AttributeInstance, now: string, name: string): StoredEntity {
  const list = current.attrs[iri];
  const at = list?.findIndex((x) => sameDataset(x, inst)) ?? -1;
  if (!list || at < 0) throw notFound(`Entity ${current.id} has no attribute ${name}`);
  const replaced = stamp(inst, now, list[at].createdAt);
  return withAttrs(current, { ...current.attrs, [iri]: list.map((x, i) => (i === at ? replaced : x)) }, now, true);
}

/** Delete Attribute (5.6.5): one instance (by datasetId, default instance otherwise) or, with deleteAll, all of them. */
export function deleteAttribute(
  current: StoredEntity,
  iri: string,
  now: string,
  name: string,
  target: { datasetId?: string; deleteAll?: boolean },
): StoredEntity {
  const list = current.attrs[iri];
  if (!list) throw notFound(`Entity ${current.id} has no attribute ${name}`);
  const remaining = target.deleteAll ? [] : list.filter((x) => x.datasetId !== target.datasetId);
  if (remaining.length === list.length) {
    throw notFound(`Entity ${current.id} has no instance of ${name} with ${target.datasetId ? `datasetId ${target.datasetId}` : 'no datasetId'}`);
  }
  const next = { ...current.attrs };
  if (remaining.length === 0) delete next[iri];
  else next[iri] = remaining;
  return withAttrs(current, next, now, true);
}

/**
 * Merge Entity (5.6.17, merge-patch semantics): attributes given are merged
 * into the existing ones, new ones are added, an NGSI null deletes; types
 * given are added.
 */
export function mergeEntity(current: StoredEntity, fragment: EntityFragment, now: string): StoredEntity {
  const next: AttributeMap = { ...current.attrs };
  for (const [iri, instances] of Object.entries(fragment.attrs)) {
    let list = [...(next[iri] ?? [])];
    for (const inst of instances) {
      const at = list.findIndex((x) => sameDataset(x, inst));
      if (isNgsiNull(inst)) {
        if (at >= 0) list.splice(at, 1);
      } else if (at < 0) {
        list.push(stamp(stripNulls(inst), now));
      } else {
        list[at] = mergeInstance(list[at], inst, now, true);
      }
    }
    list = list.filter(Boolean);
    if (list.length === 0) delete next[iri];
    else next[iri] = list;
  }
  const types = fragment.types ? [...current.types, ...fragment.types.filter((t) => !current.types.includes(t))] : current.types;
  const merged = withAttrs({ ...current, types }, next, now, true);
  if (fragment.scope) merged.scope = fragment.scope;
  if (fragment.expiresAt === null) delete merged.expiresAt;
  else if (fragment.expiresAt !== undefined) merged.expiresAt = fragment.expiresAt;
  return merged;
}

/** The parser marks an attribute deletion (an NGSI null of any attribute type) with the null as its value. */
function isNgsiNull(inst: AttributeInstance): boolean {
  return inst.value === NGSI_NULL && !inst.sub;
}

/** Merges a patch instance into an existing one: content and metadata given replace, sub-attributes merge, NGSI null removes. */
function mergeInstance(base: AttributeInstance, patch: AttributeInstance, now: string, mergeValues: boolean): AttributeInstance {
  const merged: AttributeInstance = { ...base };
  const contentGiven = CONTENT_KEYS.some((k) => patch[k] !== undefined);
  if (contentGiven) {
    for (const k of CONTENT_KEYS) delete merged[k];
    merged.type = patch.type;
  }
  for (const k of [...CONTENT_KEYS, 'objectType', 'observedAt', 'unitCode', 'expiresAt', 'entityIdSealed', 'entityTypeSealed'] as const) {
    if (patch[k] !== undefined) (merged as unknown as Record<string, unknown>)[k] = patch[k];
  }
  if (mergeValues && contentGiven && base.type === 'Property' && patch.type === 'Property' && isObject(base.value) && isObject(patch.value)) {
    merged.value = mergePatchValue(base.value, patch.value) as Json;
  }
  if (patch.sub) {
    const sub = { ...(base.sub ?? {}) };
    for (const [iri, s] of Object.entries(patch.sub)) {
      if (isNgsiNull(s)) delete sub[iri];
      else sub[iri] = sub[iri] ? mergeInstance(sub[iri], s, now, mergeValues) : stripNulls(s);
    }
    if (Object.keys(sub).length > 0) merged.sub = sub;
    else delete merged.sub;
  }
  merged.modifiedAt = now;
  return merged;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7396 inside a compound value: members merge recursively, a null removes one. */
function mergePatchValue(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || v === NGSI_NULL) delete out[k];
    else if (isObject(v) && isObject(out[k])) out[k] = mergePatchValue(out[k] as Record<string, unknown>, v);
    else out[k] = v;
  }
  return out;
}

const CONTENT_KEYS = ['value', 'object', 'languageMap', 'vocab', 'json', 'valueList', 'objectList'] as const;

/** A new attribute from a merge must not keep NGSI nulls of its own sub-attributes. */
function stripNulls(inst: AttributeInstance): AttributeInstance {
  if (!inst.sub) return inst;
  const sub = Object.fromEntries(Object.entries(inst.sub).filter(([, s]) => !isNgsiNull(s)).map(([k, s]) => [k, stripNulls(s)]));
  const out: AttributeInstance = withMembers(inst, { sub });
  if (Object.keys(sub).length === 0) delete out.sub;
  return out;
}

function withAttrs(current: StoredEntity, attrs: AttributeMap, now: string, changed: boolean): StoredEntity {
  return changed ? { ...current, attrs, modifiedAt: now } : current;
}

/**
 * 4.22: the entity as its expiry leaves it at `now`: undefined when the
 * entity itself has expired, otherwise without its expired attribute
 * instances (the same entity when none has).
 */
export function expireEntity(e: StoredEntity, now: string): StoredEntity | undefined {
  const t = Date.parse(now);
  const gone = (expiresAt: string | undefined) => expiresAt !== undefined && Date.parse(expiresAt) <= t;
  if (gone(e.expiresAt)) return undefined;
  let changed = false;
  const attrs: AttributeMap = {};
  for (const [iri, instances] of Object.entries(e.attrs)) {
    const kept = instances.filter((i) => !gone(i.expiresAt));
    if (kept.length !== instances.length) changed = true;
    if (kept.length > 0) attrs[iri] = kept;
  }
  return withAttrs(e, attrs, now, changed);
}
