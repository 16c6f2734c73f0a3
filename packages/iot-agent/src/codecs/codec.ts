/**
 * A codec turns a device's payload into measures and command results, and a
 * command into the payload the device expects. UltraLight 2.0 and JSON are
 * built in; binary formats (CayenneLPP, vendor LoRaWAN payloads) implement
 * the same interface.
 */

/** One value as the device sent it, under the name the device used (the attribute's `object_id`). */
export interface Measure {
  name: string;
  value: unknown;
}

/** Measures that belong together: they become one update, observed at one time. */
export interface MeasureGroup {
  /** ISO 8601 time the payload gave for the group, if any. */
  observedAt?: string;
  measures: Measure[];
}

/** A device's answer to a command. */
export interface CommandResult {
  command: string;
  result: unknown;
}

export interface Codec {
  /** The short name used in topic prefixes (`/ul/...`, `/json/...`). */
  readonly name: string;
  /** FIWARE's protocol name for devices speaking it. */
  readonly protocol: string;
  /** Every measure group of a payload; throws PayloadError when it does not parse. */
  decodeMeasures(payload: Buffer): MeasureGroup[];
  /** The value of one named measure sent on its own (`.../attrs/{name}`). */
  decodeSingle(name: string, payload: Buffer): MeasureGroup;
  encodeCommand(deviceId: string, command: string, value: unknown): string;
  decodeCommandResults(payload: Buffer): CommandResult[];
}

/** A payload that does not follow its codec's syntax: dropped, with this message as the logged reason. */
export class PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
  }
}

/** An ISO 8601 date-time, as devices stamp measures. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** The time as NGSI-LD writes it, or undefined when `text` is not a date-time. */
export function parseTimestamp(text: string): string | undefined {
  if (!TIMESTAMP.test(text)) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}
