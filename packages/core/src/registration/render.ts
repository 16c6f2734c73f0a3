/** A stored registration as the API shows it (5.2.9), compacted with the request's @context. */
import type { ActiveContext } from '../jsonld/activeContext';
import type { Registration } from './registration';

export function renderRegistration(r: Registration, ctx: ActiveContext, options: { sysAttrs?: boolean } = {}): Record<string, unknown> {
  const compact = (iri: string) => ctx.compactIri(iri);
  const { properties, context: _context, createdAt, modifiedAt, information, ...members } = r;
  const out: Record<string, unknown> = { id: r.id, type: 'ContextSourceRegistration' };
  out.information = information.map((info) => ({
    ...(info.entities
      ? {
          entities: info.entities.map((e) => ({
            ...(e.id !== undefined ? { id: e.id } : {}),
            ...(e.idPattern !== undefined ? { idPattern: e.idPattern } : {}),
            type: e.types.length === 1 ? compact(e.types[0]) : e.types.map(compact),
          })),
        }
      : {}),
    ...(info.propertyNames ? { propertyNames: info.propertyNames.map(compact) } : {}),
    ...(info.relationshipNames ? { relationshipNames: info.relationshipNames.map(compact) } : {}),
  }));
  for (const [key, value] of Object.entries(members)) if (key !== 'id' && value !== undefined) out[key] = key === 'scope' && Array.isArray(value) && value.length === 1 ? value[0] : value;
  for (const [iri, value] of Object.entries(properties ?? {})) out[compact(iri)] = value;
  if (options.sysAttrs) {
    out.createdAt = createdAt;
    out.modifiedAt = modifiedAt;
  }
  return out;
}
