/**
 * UltraLight 2.0: `key|value|key|value`, measure groups separated by `#`, an
 * optional ISO 8601 timestamp as a group's first element; commands are
 * `device@command|params` and their results `device@command|result`.
 * A backslash makes the next character literal, so values may contain
 * `|`, `#`, `@` and `\` itself.
 */
import { Codec, CommandResult, MeasureGroup, parseTimestamp, PayloadError } from './codec';

/** Splits on unescaped `separator`, keeping escapes in the parts (they are resolved once, at the end). */
function split(text: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

const unescape = (text: string): string => text.replace(/\\(.)/gs, '$1');

const escape = (text: string): string => text.replace(/[\\|#@]/g, (c) => `\\${c}`);

function decodeGroup(text: string, index: number): MeasureGroup {
  const fields = split(text, '|').map((f) => f.trim());
  let observedAt: string | undefined;
  if (fields.length % 2 === 1) {
    observedAt = parseTimestamp(fields[0]);
    if (observedAt === undefined) {
      throw new PayloadError(`UltraLight group ${index + 1}: measure "${unescape(fields[fields.length - 1])}" has no value`);
    }
    fields.shift();
  }
  if (fields.length === 0) throw new PayloadError(`UltraLight group ${index + 1} has no measures`);
  const measures = [];
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] === '') throw new PayloadError(`UltraLight group ${index + 1}: measure ${i / 2 + 1} has an empty name`);
    measures.push({ name: unescape(fields[i]), value: unescape(fields[i + 1]) });
  }
  return { observedAt, measures };
}

function text(payload: Buffer): string {
  const s = payload.toString('utf8').trim();
  if (s === '') throw new PayloadError('Empty UltraLight payload');
  return s;
}

/** `device@command|rest`: the command name and what follows it. */
function commandHead(group: string): { command: string; rest: string[] } {
  const at = split(group, '@');
  if (at.length < 2) throw new PayloadError(`UltraLight command "${unescape(group)}" lacks "device@command"`);
  const [command, ...rest] = split(at.slice(1).join('@'), '|');
  if (command.trim() === '') throw new PayloadError(`UltraLight command "${unescape(group)}" has no command name`);
  return { command: unescape(command.trim()), rest };
}

export const ultraLight: Codec = {
  name: 'ul',
  protocol: 'PDI-IoTA-UltraLight',

  decodeMeasures(payload) {
    return split(text(payload), '#')
      .map((g) => g.trim())
      .filter((g) => g !== '')
      .map(decodeGroup);
  },

  decodeSingle(name, payload) {
    return { measures: [{ name, value: unescape(payload.toString('utf8').trim()) }] };
  },

  encodeCommand(deviceId, command, value) {
    const head = `${escape(deviceId)}@${escape(command)}`;
    if (value === undefined || value === null || value === '') return head;
    if (typeof value === 'object' && !Array.isArray(value)) {
      const params = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${escape(k)}=${escape(scalar(v))}`);
      return [head, ...params].join('|');
    }
    return `${head}|${escape(scalar(value))}`;
  },

  decodeCommandResults(payload) {
    return split(text(payload), '#')
      .map((g) => g.trim())
      .filter((g) => g !== '')
      .map((group): CommandResult => {
        const { command, rest } = commandHead(group);
        return { command, result: unescape(rest.join('|')) };
      });
  },
};

const scalar = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
