import type { Codec } from './codec';
import { json } from './json';
import { ultraLight } from './ultralight';

export * from './codec';
export { json, ultraLight };

/** Codecs by topic prefix and by FIWARE protocol name. */
export const CODECS: readonly Codec[] = [ultraLight, json];

export function codecNamed(name: string): Codec | undefined {
  return CODECS.find((c) => c.name === name || c.protocol === name);
}
