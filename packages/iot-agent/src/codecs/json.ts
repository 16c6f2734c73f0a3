/**
 * The FIWARE JSON payloads: an object of measures (`{"t": 21.5, "h": 40}`),
 * or an array of such objects, one measure group each. Commands are
 * `{"command": value}`, results `{"command": result}`.
 */
import { Codec, MeasureGroup, PayloadError } from './codec';

function parse(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch (e) {
    throw new PayloadError(`Invalid JSON payload: ${(e as Error).message}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function group(value: unknown, index: number): MeasureGroup {
  if (!isObject(value)) throw new PayloadError(`JSON measure group ${index + 1} is not an object`);
  const measures = Object.entries(value).map(([name, v]) => ({ name, value: v }));
  if (measures.length === 0) throw new PayloadError(`JSON measure group ${index + 1} has no measures`);
  return { measures };
}

export const json: Codec = {
  name: 'json',
  protocol: 'PDI-IoTA-JSON',

  decodeMeasures(payload) {
    const value = parse(payload);
    if (Array.isArray(value)) {
      if (value.length === 0) throw new PayloadError('Empty JSON array of measures');
      return value.map(group);
    }
    return [group(value, 0)];
  },

  decodeSingle(name, payload) {
    const text = payload.toString('utf8');
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // A bare string is a valid single measure.
    }
    return { measures: [{ name, value }] };
  },

  encodeCommand(_deviceId, command, value) {
    return JSON.stringify({ [command]: value ?? '' });
  },

  decodeCommandResults(payload) {
    const value = parse(payload);
    if (!isObject(value)) throw new PayloadError('A JSON command result must be an object');
    return Object.entries(value).map(([command, result]) => ({ command, result }));
  },
};
