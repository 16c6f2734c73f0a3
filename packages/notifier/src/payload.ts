/**
 * Notification bodies (5.3.1): entities rendered the way the subscription
 * asks (attributes, pick / omit, format, sysAttrs, lang, GeoJSON), with the
 * previous values of what changed (showChanges) and deleted attributes
 * marked with the NGSI-LD null.
 */
import { randomUUID } from 'node:crypto';
import {
  AttributeInstance,
  EntityRenderer,
  joinRendered,
  keepsAttribute,
  loadLinked,
  NGSI_NULL,
  NotificationParams,
  nowIso,
  RenderOptions,
  StoredEntity,
  toFeature,
  unprojected,
} from '@civitas/core';
import type { AttributeChanges } from './matching/changes';
import type { IndexedSubscription } from './matching/subscriptionIndex';

type Out = Record<string, unknown>;

/** The member holding an attribute's content in its rendered form, and its `previous...` counterpart (5.2.12 showChanges). */
const PREVIOUS: Record<string, string> = {
  value: 'previousValue',
  object: 'previousObject',
  languageMap: 'previousLanguageMap',
  vocab: 'previousVocab',
  json: 'previousJson',
  valueList: 'previousValueList',
  objectList: 'previousObjectList',
};

export interface EntityNotice {
  entity: StoredEntity;
  /** The state before the change, and what changed: for showChanges and deleted attributes. */
  before?: StoredEntity;
  changes?: AttributeChanges;
  /** The entity was deleted at this time. */
  deletedAt?: string;
}

/**
 * The entities linked from the notices, when the subscription asks for a
 * join (4.5.23); `load` reads entities by id.
 */
export async function linkedFor(s: IndexedSubscription, notices: EntityNotice[], load: (ids: string[]) => Promise<StoredEntity[]>): Promise<Map<string, StoredEntity> | undefined> {
  const { join, joinLevel } = s.subscription.notification;
  if (!join) return undefined;
  // Only the Relationships the notification shows are followed from the notified entities; from linked ones, all.
  const options = renderOptions(s);
  const follows = (path: string[], iri: string) => path.length > 0 || keepsAttribute(options, iri);
  return loadLinked(notices.filter((n) => n.deletedAt === undefined).map((n) => n.entity), joinLevel ?? 1, load, undefined, follows);
}

export function notificationBody(s: IndexedSubscription, notices: EntityNotice[], linked?: Map<string, StoredEntity>): Out {
  const options = renderOptions(s);
  const renderer = new EntityRenderer(s.ctx, options);
  let rendered = notices.map((n) => renderNotice(s, renderer, n));
  const { join, joinLevel } = s.subscription.notification;
  if (join && linked) {
    // `attributes`, `pick` and `omit` select from the notified entities; the entities they link to are shown whole.
    const whole = new EntityRenderer(s.ctx, unprojected(options));
    rendered = joinRendered(join, rendered, notices.map((n) => n.entity), linked, renderer, joinLevel ?? 1, { renderers: () => whole, via: new Map() });
  }
  const geo = s.subscription.notification.endpoint.accept === 'application/geo+json';
  const data = geo
    ? { type: 'FeatureCollection', features: rendered.map((r, i) => toFeature(r, notices[i]?.entity ?? linked!.get(String(r.id))!, s.ctx.expandTerm('location'))) }
    : rendered;
  return {
    id: `urn:ngsi-ld:Notification:${randomUUID()}`,
    type: 'Notification',
    subscriptionId: s.subscription.id,
    notifiedAt: nowIso(),
    data,
  };
}

function renderOptions(s: IndexedSubscription): RenderOptions {
  const n = s.subscription.notification;
  const options: RenderOptions = { format: n.format ?? 'normalized', sysAttrs: n.sysAttrs ?? false };
  if (s.subscription.datasetId) options.datasetIds = new Set(s.subscription.datasetId);
  const keep = n.pick ?? n.attributes;
  if (keep && keep.length > 0) {
    options.keep = new Set(keep.filter((k) => k !== 'id' && k !== 'type'));
    if (n.pick) {
      options.hideId = !n.pick.includes('id');
      options.hideType = !n.pick.includes('type');
    }
  }
  if (n.omit) {
    options.drop = new Set(n.omit);
    options.hideId = n.omit.includes('id');
    options.hideType = n.omit.includes('type');
  }
  if (s.subscription.lang !== undefined) options.lang = s.subscription.lang.split(',').map((t) => t.trim());
  return options;
}

function renderNotice(s: IndexedSubscription, renderer: EntityRenderer, notice: EntityNotice): Out {
  const n = s.subscription.notification;
  const wanted = (iri: string) => (n.pick ?? n.attributes ?? [iri]).includes(iri) && !(n.omit ?? []).includes(iri);
  const deleted = (previous: Out, iris: string[], at: string, into: Out) => {
    for (const iri of iris) {
      const name = s.ctx.compactIri(iri);
      if (wanted(iri) && name in previous) into[name] = deletedAttribute(previous[name], n, at);
    }
  };
  if (notice.deletedAt !== undefined) {
    // 5.8.6: a deleted entity is its deletedAt (with sysAttrs, its other timestamps; with showChanges, what it had).
    const { entity } = notice;
    const out: Out = { id: entity.id, type: renderer.typeValue(entity.types), deletedAt: notice.deletedAt };
    if (n.sysAttrs) Object.assign(out, { createdAt: entity.createdAt, modifiedAt: entity.modifiedAt });
    // With showChanges every attribute it had; for attributeDeleted, the watched ones that went with it.
    const { watchedAttributes, notificationTrigger } = s.subscription;
    const gone = n.showChanges
      ? Object.keys(entity.attrs)
      : notificationTrigger.includes('attributeDeleted')
        ? Object.keys(entity.attrs).filter((iri) => !watchedAttributes || watchedAttributes.includes(iri))
        : [];
    deleted(renderer.entity(entity), gone, notice.deletedAt, out);
    return out;
  }
  const out = renderer.entity(notice.entity);
  // The simplified format has no place for system attributes on attributes; the entity's own are still given.
  if (n.sysAttrs && n.format === 'keyValues') Object.assign(out, { createdAt: notice.entity.createdAt, modifiedAt: notice.entity.modifiedAt });
  const { before, changes } = notice;
  if (!before || !changes) return out;
  const previous = renderer.entity(before);
  if (n.showChanges && n.format !== 'keyValues') {
    for (const iri of changes.updated) {
      const name = s.ctx.compactIri(iri);
      if (!wanted(iri) || !(name in out)) continue;
      out[name] = withPrevious(out[name], previous[name]);
    }
  }
  deleted(previous, changes.deleted, notice.entity.modifiedAt, out);
  // Instances deleted from an attribute that remains: the remaining ones, then a null for each deleted one.
  for (const [iri, datasetIds] of Object.entries(changes.deletedInstances)) {
    if (!wanted(iri)) continue;
    const markers = (before.attrs[iri] ?? []).filter((i) => datasetIds.includes(i.datasetId ?? '@none')).map(nullInstance);
    out[s.ctx.compactIri(iri)] = renderer.attributeInstances([...(notice.entity.attrs[iri] ?? []), ...markers]);
  }
  return out;
}

/** Adds previousValue (or previousObject, ...) to a rendered attribute; a concise bare value becomes an object for it. */
function withPrevious(current: unknown, before: unknown): unknown {
  if (Array.isArray(current)) return current; // several instances: which one was before is ambiguous
  const now: Out = isObject(current) && contentMember(current) ? { ...current } : { value: current };
  const was: Out = isObject(before) && contentMember(before) ? before : { value: before };
  const member = contentMember(now)!;
  const wasMember = contentMember(was);
  if (wasMember) now[PREVIOUS[member]] = was[wasMember];
  return now;
}

/**
 * 5.8.6: a deleted attribute is the NGSI-LD null in its content member
 * (languageMap {"@none": null}), as an object in the normalized format or
 * when there is more to say (datasetId, sysAttrs, the previous value), and
 * as the bare null otherwise.
 */
function deletedAttribute(before: unknown, n: NotificationParams, deletedAt: string): unknown {
  const was: Out = isObject(before) ? before : { value: before };
  const format = n.format ?? 'normalized';
  const more = n.showChanges || n.sysAttrs || was.datasetId !== undefined;
  if (format === 'keyValues' || (format === 'concise' && !more)) return NGSI_NULL;
  const member = contentMember(was) ?? 'value';
  const out: Out = {};
  if (format === 'normalized') out.type = was.type ?? 'Property';
  out[member] = member === 'languageMap' ? { '@none': NGSI_NULL } : NGSI_NULL;
  if (was.datasetId !== undefined) out.datasetId = was.datasetId;
  if (n.sysAttrs) Object.assign(out, { createdAt: was.createdAt, modifiedAt: was.modifiedAt, deletedAt });
  if (n.showChanges) out[PREVIOUS[member]] = was[member];
  return out;
}

/** An instance standing for a deleted one: its kind and datasetId, its content the NGSI-LD null. */
function nullInstance(i: AttributeInstance): AttributeInstance {
  let marker: AttributeInstance;
  if (i.type === 'Relationship' || i.type === 'ListRelationship') marker = { type: 'Relationship', object: NGSI_NULL };
  else if (i.type === 'LanguageProperty') marker = { type: 'LanguageProperty', languageMap: { '@none': NGSI_NULL } };
  else marker = { type: i.type === 'GeoProperty' ? 'GeoProperty' : 'Property', value: NGSI_NULL };
  if (i.datasetId !== undefined) marker.datasetId = i.datasetId;
  return marker;
}

function contentMember(o: Out): string | undefined {
  return Object.keys(PREVIOUS).find((m) => m in o);
}

function isObject(v: unknown): v is Out {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
