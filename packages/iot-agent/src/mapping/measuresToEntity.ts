/**
 * A measure group to the NGSI-LD entity fragment the agent upserts: measures
 * renamed and typed by the provisioning, expressions applied, static
 * attributes added, observedAt and units set, and the result checked against
 * the device's Smart Data Model.
 */
import type { MeasureGroup } from '../codecs';
import { parseTimestamp } from '../codecs';
import { DropError } from '../dropReasons';
import type { AttributeMapping } from '../provisioning/model';
import { keyValueOf, NgsiAttribute, toAttribute } from './attributes';
import type { DeviceProfile } from './deviceProfile';
import { evaluate, ExpressionError } from './expressions';

export type EntityFragment = { id: string; type: string } & Record<string, unknown>;

/** FIWARE's name for a measure carrying the observation time. */
const TIME_INSTANT = 'TimeInstant';

function run(expression: string, context: Record<string, unknown>): unknown {
  try {
    return evaluate(expression, context);
  } catch (e) {
    if (e instanceof ExpressionError) throw new DropError('expression_failed', e.message);
    throw e;
  }
}

/** Which attribute names explicitAttrs lets through: all (undefined) or a set. */
function allowedNames(profile: DeviceProfile, context: Record<string, unknown>): Set<string> | undefined {
  const explicit = profile.explicitAttrs;
  const provisioned = () => new Set(profile.attributes.map((a) => a.name));
  if (explicit === undefined || explicit === false) return undefined;
  if (explicit === true) return provisioned();
  const result = run(explicit, context);
  if (Array.isArray(result)) return new Set(result.map(String));
  return result ? provisioned() : undefined;
}

export function measuresToEntity(profile: DeviceProfile, group: MeasureGroup, receivedAt: string): EntityFragment {
  const timeMeasure = group.measures.find((m) => m.name === TIME_INSTANT);
  const observedAt = group.observedAt ?? (timeMeasure ? parseTimestamp(String(timeMeasure.value)) : undefined) ?? receivedAt;
  const stamp = profile.timestamp ? observedAt : undefined;

  const { mappingOf } = profile;

  const context: Record<string, unknown> = {
    id: profile.deviceId,
    type: profile.entityType,
    service: profile.service,
    subservice: profile.subservice,
    observedAt,
  };
  for (const m of group.measures) {
    context[m.name] = m.value;
    const mapping = mappingOf.get(m.name);
    if (mapping && !(mapping.name in context)) context[mapping.name] = m.value;
  }
  const allowed = allowedNames(profile, context);

  const attributes: Record<string, NgsiAttribute> = {};
  const add = (mapping: AttributeMapping | undefined, name: string, value: unknown) => {
    if (allowed && !allowed.has(name)) return;
    if (mapping?.skipValue !== undefined && JSON.stringify(value) === JSON.stringify(mapping.skipValue)) return;
    const type = mapping?.type ?? profile.model?.attributeType(name);
    attributes[name] = toAttribute(name, type, value, mapping?.metadata, stamp, profile.model?.unitCode(name));
  };

  for (const m of group.measures) {
    if (m.name === TIME_INSTANT) continue;
    const mapping = mappingOf.get(m.name);
    if (mapping?.expression) continue; // evaluated below, with every measure in reach
    add(mapping, mapping?.name ?? m.name, m.value);
  }
  // An expression attribute appears when its own measure came, or when it computes a value from others (say, location from lat and lon).
  for (const mapping of profile.attributes) {
    if (!mapping.expression) continue;
    const value = run(mapping.expression, context);
    if (value === undefined || value === null) continue;
    add(mapping, mapping.name, value);
  }
  if (Object.keys(attributes).length === 0) {
    throw new DropError('no_attributes', `No measure of device ${profile.deviceId} maps to an attribute`);
  }

  for (const [name, attribute] of Object.entries(staticAttributes(profile))) {
    if (!(name in attributes)) attributes[name] = attribute;
  }
  for (const date of profile.model?.observationDates ?? []) {
    if (date in attributes) continue;
    const asDateTime = profile.model!.attributeType(date) === 'DateTime';
    attributes[date] = { type: 'Property', value: asDateTime ? { '@type': 'DateTime', '@value': observedAt } : observedAt };
  }

  const entity: EntityFragment = { id: profile.entityId, type: profile.entityType, ...attributes };
  if (profile.model) {
    const keyValues: Record<string, unknown> = { id: entity.id, type: entity.type };
    for (const [name, attribute] of Object.entries(attributes)) keyValues[name] = keyValueOf(attribute);
    const problem = profile.model.validate(keyValues);
    if (problem) throw new DropError('schema_violation', `Entity ${entity.id} does not follow ${profile.model.name}: ${problem}`);
  }
  return entity;
}

/** The device's static attributes, typed by their provisioning or the model. */
function staticAttributes(profile: DeviceProfile): Record<string, NgsiAttribute> {
  const out: Record<string, NgsiAttribute> = {};
  for (const s of profile.staticAttributes) out[s.name] = toAttribute(s.name, s.type ?? profile.model?.attributeType(s.name), s.value, s.metadata);
  return out;
}

/**
 * What a device's entity starts with when it is provisioned: its static
 * attributes and, per command, the command and its status; undefined when
 * it has neither.
 */
export function provisionedEntity(profile: DeviceProfile): EntityFragment | undefined {
  if (profile.commands.length === 0 && profile.staticAttributes.length === 0) return undefined;
  const entity: EntityFragment = { id: profile.entityId, type: profile.entityType, ...staticAttributes(profile) };
  for (const c of profile.commands) {
    entity[c.name] = { type: 'Property', value: '' };
    entity[`${c.name}_status`] = { type: 'Property', value: 'UNKNOWN' };
    entity[`${c.name}_info`] = { type: 'Property', value: '' };
  }
  return entity;
}
