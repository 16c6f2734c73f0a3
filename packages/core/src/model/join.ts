/**
 * Linked entity retrieval (4.5.23): the entities that Relationships of the
 * linking entities point to, up to `joinLevel` hops, returned after them
 * (flat) or inside each Relationship as an `entity` member (inline). Only
 * locally stored entities are followed; each is visited once, so loops end.
 */
import type { EntityRenderer } from './render';
import type { StoredEntity } from './entity';
import { withMembers } from './withMembers';

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
export async function loadLinked(
  roots: StoredEntity[],
  level: number,
  load: (ids: string[]) => Promise<StoredEntity[]>,
  /** Filled with the relationship IRIs through which each linked entity was first reached. */
  via?: Map<string, string[]>,
  /** Whether to follow Relationship `iri` of an entity reached through `path` (relationship IRIs); all by default. */
  follows: (path: string[], iri: string) => boolean = () => true,
): Promise<Map<string, StoredEntity>> {
  const seen = new Set(roots.map((e) => e.id));
  const linked = new Map<string, StoredEntity>();
  const paths = new Map<string, string[]>(roots.map((e) => [e.id, []]));
  let frontier = roots;
  for (let depth = 0; depth < level && frontier.length > 0; depth++) {
    const wanted: string[] = [];
    for (const e of frontier) {
      for (const [iri, instances] of Object.entries(e.attrs)) {
        if (!follows(paths.get(e.id) ?? [], iri)) continue;
        for (const target of instances.flatMap((i) => relationshipTargets({ ...e, attrs: { [iri]: [i] } }))) {
          if (seen.has(target)) continue;
          seen.add(target);
          wanted.push(target);
          paths.set(target, [...(paths.get(e.id) ?? []), iri]);
        }
      }
    }
    frontier = wanted.length > 0 ? await load(wanted) : [];
    for (const e of frontier) {
      linked.set(e.id, e);
      via?.set(e.id, paths.get(e.id) ?? []);
    }
  }
  return linked;
}

/** The renderer for entities reached through a path of relationship names (the linking entities' is `[]`). */
export type LinkedRenderers = (path: string[]) => EntityRenderer;

/** Applies a join to rendered linking entities (`rendered[i]` is `entities[i]`). */
export function joinRendered(
  mode: JoinMode,
  rendered: Out[],
  entities: StoredEntity[],
  linked: Map<string, StoredEntity>,
  renderer: EntityRenderer,
  level: number,
  /** Per-path renderers (pick / omit into linked entities, 4.21); `via` says how each linked entity was reached. */
  projected?: { renderers: LinkedRenderers; via: Map<string, string[]> },
): Out[] {
  const rendererAt = (path: string[]) => projected?.renderers(path) ?? renderer;
  if (mode === 'flat') {
    const ids = new Set(entities.map((e) => e.id));
    const names = (e: StoredEntity) => (projected?.via.get(e.id) ?? []).map((iri) => renderer.nameOf(iri));
    return [...rendered, ...[...linked.values()].filter((e) => !ids.has(e.id)).map((e) => rendererAt(names(e)).entity(e))];
  }
  return rendered.map((r, i) => inline(r, entities[i], linked, renderer, rendererAt, [], level, new Set([entities[i].id])));
}

function inline(
  out: Out,
  e: StoredEntity,
  linked: Map<string, StoredEntity>,
  renderer: EntityRenderer,
  rendererAt: LinkedRenderers,
  names: string[],
  level: number,
  path: Set<string>,
): Out {
  if (level <= 0) return out;
  for (const [iri, instances] of Object.entries(e.attrs)) {
    const name = renderer.nameOf(iri);
    if (!(name in out)) continue;
    const targets = instances.map((i) => (i.type === 'Relationship' && typeof i.object === 'string' ? linked.get(i.object) : undefined));
    if (targets.every((t) => t === undefined)) continue;
    const sub = rendererAt([...names, name]);
    const embed = (t: StoredEntity) => inline(sub.entity(t), t, linked, sub, rendererAt, [...names, name], level - 1, new Set([...path, t.id]));
    const value = out[name];
    if (Array.isArray(value)) {
      out[name] = value.map((v, k) => (targets[k] && !path.has(targets[k]!.id) && isObject(v) ? withMembers(v, { entity: embed(targets[k]!) }) : v));
    } else if (targets[0] && !path.has(targets[0].id)) {
      // Simplified: the Relationship becomes the entity itself; otherwise the entity is a member beside its object.
      out[name] = isObject(value) && 'object' in value ? withMembers(value, { entity: embed(targets[0]) }) : embed(targets[0]);
    }
  }
  return out;
}

function isObject(v: unknown): v is Out {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
