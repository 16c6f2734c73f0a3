/**
 * Representations of entities as retrieved by id, kept with the entity
 * they show, so that retrieving an entity again in the same form sends what
 * was sent before instead of rendering and serializing it anew: rendering
 * was a quarter of a retrieval's CPU time when the store answered from its
 * entity cache.
 *
 * Only entities the store shares frozen (those of its entity cache) keep
 * any: such an object never changes (a write leaves a new one), so what is
 * kept with it cannot outlive the state it shows, and goes when it goes.
 * An entity with an attribute instance that expires is rendered each time,
 * as what it shows depends on the time of the request (4.22).
 */
import type { ActiveContext, StoredEntity } from '@civitas/core';
import type { Representation } from '../http/respond';

/** The forms kept per entity (a consumer rarely asks for one entity in more). */
const FORMS_PER_ENTITY = 4;

interface Form {
  /** The context the representation was compacted with (a context is rebuilt, not changed, when its source is reloaded). */
  ctx: ActiveContext;
  /** Everything else of the request that shapes the representation (see formKey). */
  key: string;
  made: Representation;
}

const kept = new WeakMap<StoredEntity, Form[]>();

/**
 * What of a request, besides its context, shapes an entity's
 * representation: the negotiated media type, the Prefer header (version,
 * GeoJSON body) and the URL's parameters as sent.
 */
export function formKey(accept: string, prefer: string | string[] | undefined, url: string): string {
  const q = url.indexOf('?');
  return `${accept}\n${prefer === undefined ? '' : String(prefer)}\n${q < 0 ? '' : url.slice(q + 1)}`;
}

export function keptRepresentation(entity: StoredEntity, ctx: ActiveContext, key: string): Representation | undefined {
  const forms = kept.get(entity);
  if (forms === undefined) return undefined;
  for (const form of forms) if (form.ctx === ctx && form.key === key) return form.made;
  return undefined;
}

export function keepRepresentation(entity: StoredEntity, ctx: ActiveContext, key: string, made: Representation): void {
  if (!Object.isFrozen(entity) || expiresInParts(entity)) return;
  let forms = kept.get(entity);
  if (forms === undefined) kept.set(entity, (forms = []));
  if (forms.length >= FORMS_PER_ENTITY) forms.shift();
  forms.push({ ctx, key, made });
}

function expiresInParts(entity: StoredEntity): boolean {
  for (const iri in entity.attrs) for (const instance of entity.attrs[iri]) if (instance.expiresAt !== undefined) return true;
  return false;
}
