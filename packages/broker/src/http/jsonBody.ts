/** Request bodies: JSON text -> value, with the limits that keep hostile input out. */
import { NgsiError } from '@civitas/core';

export function parseJson(raw: Buffer | undefined, maxDepth: number): unknown {
  return parseJsonText(raw?.toString('utf8') ?? '', maxDepth);
}

export function parseJsonText(text: string, maxDepth: number): unknown {
  if (text.trim() === '') throw new NgsiError('InvalidRequest', 'The request body is empty');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new NgsiError('InvalidRequest', `The request body is not valid JSON: ${(e as Error).message}`);
  }
  if (depthExceeds(value, maxDepth)) throw new NgsiError('BadRequestData', `The request body is nested deeper than ${maxDepth} levels`);
  return value;
}

/** Iterative, so that a hostile body cannot overflow the stack. */
function depthExceeds(root: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(value) ? value : Object.values(value)) stack.push([child, depth + 1]);
  }
  return false;
}
