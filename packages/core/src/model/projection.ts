/**
 * pick / omit projections (4.21) with their linked-entity parts:
 * `id,locatedAt{id,name,isInCountry{description}}` names members of the
 * entity and, in braces, members of the entities a Relationship links to
 * (with join). Names separate with `,` or `|`.
 */
import { badRequest } from '../errors';
import { isValidName } from './names';

/** Member name -> the projection of the linked entities behind it (null: none given). */
export type ProjectionTree = Map<string, ProjectionTree | null>;

export function parseProjection(text: string, what: string): ProjectionTree {
  let pos = 0;
  const fail = (message: string): never => {
    throw badRequest(`${what}: ${message} at position ${pos}`);
  };
  const members = (depth: number): ProjectionTree => {
    const tree: ProjectionTree = new Map();
    for (;;) {
      const start = pos;
      while (pos < text.length && !',|{}'.includes(text[pos])) pos += 1;
      const name = text.slice(start, pos).trim();
      if (!isValidName(name)) fail(`${JSON.stringify(name)} is not an attribute name`);
      let sub: ProjectionTree | null = null;
      if (text[pos] === '{') {
        pos += 1;
        sub = members(depth + 1);
        if (text[pos] !== '}') fail('"}" expected');
        pos += 1;
      }
      tree.set(name, sub);
      if (text[pos] === ',' || text[pos] === '|') {
        pos += 1;
        continue;
      }
      if (pos === text.length || (text[pos] === '}' && depth > 0)) return tree;
      fail(`unexpected ${JSON.stringify(text[pos])}`);
    }
  };
  const tree = members(0);
  if (pos !== text.length) fail('unexpected "}"');
  return tree;
}

/** The projection of the entities linked through `path` (relationship names from the root), if one was given. */
export function projectionAt(tree: ProjectionTree, path: string[]): ProjectionTree | undefined {
  let node: ProjectionTree | null | undefined = tree;
  for (const name of path) {
    node = node?.get(name);
    if (!node) return undefined;
  }
  return node;
}
