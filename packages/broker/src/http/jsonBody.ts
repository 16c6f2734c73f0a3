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

/**
 * Iterative, so that a hostile body cannot overflow the stack. Only objects
 * and arrays are stacked, each with its depth in a parallel stack: a body of
 * a hundred entities is walked without an allocation per member.
 */
function depthExceeds(root: unknown, max: number): boolean {
  const values: object[] = [];
  const depths: number[] = [];
  const stack = (value: unknown, depth: number) => {
    if (typeof value === 'object' && value !== null) {
      values.push(value);
      depths.push(depth);
    }
  };
  stack(root, 1);
  while (values.length > 0) {
    const value = values.pop()!;
    const depth = depths.pop()!;
    if (depth > max) return true;
    if (Array.isArray(value)) for (let i = 0; i < value.length; i++) stack(value[i], depth + 1);
    else for (const key in value) stack((value as Record<string, unknown>)[key], depth + 1);
  }
  return false;
}
