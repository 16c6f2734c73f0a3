/**
 * Linked entity retrieval (4.5.23): the entities that Relationships of the
 * linking entities point to, up to `joinLevel` hops, returned after them
 * (flat) or inside each Relationship as an `entity` member (inline). Only
 * locally stored entities are followed; each is visited once, so loops end.
 */
import type { EntityRenderer } from './render';
import type { StoredEntity } from './entity';

export type JoinMode = 'flat' | 'inline';

type Out = Record<string, unknown>;

/** The objects of an entity's Relationships and ListRelationships. */
export function relationshipTargets(e: StoredEntity): string[] {
  const out: string[] = [];
  for (const instances of Object.values(e.attrs)) {
    for (const i of instances) {
      if (i.type === 'Relationship') out.push(...(Array.isArray(i.object) ? i.object : i.object !== undefined ? [i.object] : []));
      else if (i.type === 'ListRelationship') out.push(...(i.objectList ?? []));
    }
  }
  return out;
}

/**
 * Loads the entities linked from `roots`, level by level, with `load`
 * (which returns those of the given ids that exist).
 */
export async function loadLinked(roots: StoredEntity[], level: number, load: (ids: string[]) => Promise<StoredEntity[]>): Promise<Map<string, StoredEntity>> {
  const seen = new Set(roots.map((e) => e.id));
  const linked = new Map<string, StoredEntity>();
  let frontier = roots;
  for (let depth = 0; depth < level && frontier.length > 0; depth++) {
    const wanted = [...new Set(frontier.flatMap(relationshipTargets))].filter((id) => !seen.has(id));
    wanted.forEach((id) => seen.add(id));
    frontier = wanted.length > 0 ? await load(wanted) : [];
    for (const e of frontier) linked.set(e.id, e);
  }
  return linked;
}

/** Applies a join to rendered linking entities (`rendered[i]` is `entities[i]`). */
export function joinRendered(mode: JoinMode, rendered: Out[], entities: StoredEntity[], linked: Map<string, StoredEntity>, renderer: EntityRenderer, level: number): Out[] {
  if (mode === 'flat') {
    const ids = new Set(entities.map((e) => e.id));
    return [...rendered, ...[...linked.values()].filter((e) => !ids.has(e.id)).map((e) => renderer.entity(e))];
  }
  return rendered.map((r, i) => inline(r, entities[i], linked, renderer, level, new Set([entities[i].id])));
}

function inline(out: Out, e: StoredEntity, linked: Map<string, StoredEntity>, renderer: EntityRenderer, level: number, path: Set<string>): Out {
  if (level <= 0) return out;
  for (const [iri, instances] of Object.entries(e.attrs)) {
    const name = renderer.nameOf(iri);
    if (!(name in out)) continue;
    const targets = instances.map((i) => (i.type === 'Relationship' && typeof i.object === 'string' ? linked.get(i.object) : undefined));
    if (targets.every((t) => t === undefined)) continue;
    const embed = (t: StoredEntity) => inline(renderer.entity(t), t, linked, renderer, level - 1, new Set([...path, t.id]));
    const value = out[name];
    if (Array.isArray(value)) {
      out[name] = value.map((v, k) => (targets[k] && !path.has(targets[k]!.id) && isObject(v) ? { ...v, entity: embed(targets[k]!) } : v));
    } else if (targets[0] && !path.has(targets[0].id)) {
      // Simplified: the Relationship becomes the entity itself; otherwise the entity is a member beside its object.
      out[name] = isObject(value) && 'object' in value ? { ...value, entity: embed(targets[0]) } : embed(targets[0]);
    }
  }
  return out;
}

function isObject(v: unknown): v is Out {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
