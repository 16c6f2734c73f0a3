/**
 * One value and its FIWARE attribute type to an NGSI-LD attribute. Devices
 * send text (UltraLight) or loosely typed JSON; the provisioned type says
 * what the value is, the way FIWARE agents read it.
 */
import type { AttributeMetadata } from '../provisioning/model';
import { DropError } from '../dropReasons';

export type NgsiAttribute = Record<string, unknown> & { type: 'Property' | 'GeoProperty' | 'Relationship' };

const GEO_TYPES = new Set(['geoproperty', 'geo:json', 'geo:point', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon']);

const invalid = (name: string, type: string, value: unknown) =>
  new DropError('invalid_value', `Attribute "${name}" of type ${type} cannot take the value ${JSON.stringify(value)}`);

function numeric(name: string, type: string, value: unknown, integer: boolean): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw invalid(name, type, value);
  return n;
}

function bool(name: string, type: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  const text = String(value).trim().toLowerCase();
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw invalid(name, type, value);
}

function dateTime(name: string, type: string, value: unknown): { '@type': 'DateTime'; '@value': string } {
  const t = typeof value === 'number' ? value : Date.parse(String(value));
  if (!Number.isFinite(t)) throw invalid(name, type, value);
  return { '@type': 'DateTime', '@value': new Date(t).toISOString() };
}

/** GeoJSON from a GeoJSON object, a `[x, y]` array, or `"x, y"` text (`geo:point` text is NGSI v2's `"lat, lon"`). */
function geometry(name: string, type: string, value: unknown): Record<string, unknown> {
  let v = value;
  if (typeof v === 'string' && v.trim().startsWith('{')) {
    try {
      v = JSON.parse(v);
    } catch {
      throw invalid(name, type, value);
    }
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { type?: unknown }).type === 'string') return v as Record<string, unknown>;
  let pair: number[];
  if (Array.isArray(v)) pair = v.map(Number);
  else if (typeof v === 'string') pair = v.split(/[,/]/).map((p) => Number(p.trim()));
  else throw invalid(name, type, value);
  if (pair.length !== 2 || pair.some((c) => !Number.isFinite(c))) throw invalid(name, type, value);
  if (type.toLowerCase() === 'geo:point' && typeof v === 'string') pair = [pair[1], pair[0]];
  return { type: 'Point', coordinates: pair };
}

function structured(name: string, type: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    throw invalid(name, type, value);
  }
}

export function toAttribute(name: string, type: string | undefined, value: unknown, metadata?: AttributeMetadata, observedAt?: string, unitCode?: string): NgsiAttribute {
  const t = (type ?? 'Property').toLowerCase();
  let attribute: NgsiAttribute;
  if (GEO_TYPES.has(t)) attribute = { type: 'GeoProperty', value: geometry(name, type!, value) };
  else if (t === 'relationship') {
    if (typeof value !== 'string' || value === '') throw invalid(name, type!, value);
    attribute = { type: 'Relationship', object: value };
  } else {
    let v: unknown;
    switch (t) {
      case 'number':
      case 'float':
      case 'double':
        v = numeric(name, type!, value, false);
        break;
      case 'integer':
      case 'int':
        v = numeric(name, type!, value, true);
        break;
      case 'boolean':
      case 'bool':
        v = bool(name, type!, value);
        break;
      case 'datetime':
      case 'date':
      case 'iso8601':
        v = dateTime(name, type!, value);
        break;
      case 'text':
      case 'string':
        v = typeof value === 'string' ? value : JSON.stringify(value);
        break;
      case 'structuredvalue':
      case 'object':
      case 'array':
      case 'json':
        v = structured(name, type!, value);
        break;
      default:
        v = value;
    }
    if (v === null || v === undefined) throw invalid(name, type ?? 'Property', value);
    attribute = { type: 'Property', value: v };
  }
  if (observedAt) attribute.observedAt = observedAt;
  for (const [key, meta] of Object.entries(metadata ?? {})) {
    if (key === 'unitCode') unitCode = String(meta.value);
    else if (key !== 'observedAt' && meta && meta.value !== undefined) attribute[key] = toAttribute(`${name}.${key}`, meta.type, meta.value);
  }
  if (unitCode && attribute.type === 'Property') attribute.unitCode = unitCode;
  return attribute;
}

/** The attribute as key-values show it (what Smart Data Models schemas describe). */
export function keyValueOf(attribute: NgsiAttribute): unknown {
  if (attribute.type === 'Relationship') return attribute.object;
  const v = attribute.value as { '@type'?: string; '@value'?: unknown };
  if (v && typeof v === 'object' && v['@type'] === 'DateTime') return v['@value'];
  return attribute.value;
}
