import { DeviceProfile, deviceProfile, measuresToEntity, ModelCatalog } from '../src';
import { DropError } from '../src/dropReasons';
import type { ConfigGroup, Device } from '../src/provisioning/model';

const models = new ModelCatalog();
const RECEIVED = '2026-01-01T10:00:00.000Z';

function profile(device: Partial<Device> = {}, group: Partial<ConfigGroup> = {}): DeviceProfile {
  const g: ConfigGroup = { apikey: 'k1', resource: '/iot/d', ...group };
  return deviceProfile(
    { service: 'city', subservice: '/', entityName: 'urn:ngsi-ld:Thing:d1', body: { device_id: 'd1', ...device } },
    g,
    g.model ? models.get(g.model) : undefined,
  );
}

const map = (p: DeviceProfile, measures: Record<string, unknown>, observedAt?: string) =>
  measuresToEntity(p, { observedAt, measures: Object.entries(measures).map(([name, value]) => ({ name, value })) }, RECEIVED);

function dropReason(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof DropError) return e.reason;
    throw e;
  }
  throw new Error('expected a drop');
}

describe('measures to an NGSI-LD entity', () => {
  it('renames and types provisioned measures, with observedAt and unit codes', () => {
    const p = profile({
      entity_type: 'Thing',
      attributes: [
        { object_id: 't', name: 'temperature', type: 'Number', metadata: { unitCode: { type: 'Text', value: 'CEL' } } },
        { object_id: 'c', name: 'count', type: 'Integer' },
        { object_id: 'o', name: 'open', type: 'Boolean' },
        { object_id: 'ts', name: 'lastSeen', type: 'DateTime' },
        { object_id: 'p', name: 'position', type: 'geo:point' },
        { object_id: 'r', name: 'refRoom', type: 'Relationship' },
        { object_id: 's', name: 'settings', type: 'StructuredValue', metadata: { accuracy: { type: 'Number', value: 0.5 } } },
      ],
    });
    const e = map(p, { t: '21.5', c: '3', o: 'true', ts: '2026-01-01T09:00:00Z', p: '40.4, -3.7', r: 'urn:ngsi-ld:Room:1', s: '{"mode":"eco"}', extra: 'x' });
    expect(e).toEqual({
      id: 'urn:ngsi-ld:Thing:d1',
      type: 'Thing',
      temperature: { type: 'Property', value: 21.5, observedAt: RECEIVED, unitCode: 'CEL' },
      count: { type: 'Property', value: 3, observedAt: RECEIVED },
      open: { type: 'Property', value: true, observedAt: RECEIVED },
      lastSeen: { type: 'Property', value: { '@type': 'DateTime', '@value': '2026-01-01T09:00:00.000Z' }, observedAt: RECEIVED },
      position: { type: 'GeoProperty', value: { type: 'Point', coordinates: [-3.7, 40.4] }, observedAt: RECEIVED },
      refRoom: { type: 'Relationship', object: 'urn:ngsi-ld:Room:1', observedAt: RECEIVED },
      settings: { type: 'Property', value: { mode: 'eco' }, observedAt: RECEIVED, accuracy: { type: 'Property', value: 0.5 } },
      extra: { type: 'Property', value: 'x', observedAt: RECEIVED },
    });
  });

  it('takes the observation time from the payload: the group timestamp, else a TimeInstant measure', () => {
    const p = profile({ attributes: [{ object_id: 't', name: 'temperature', type: 'Number' }] });
    expect(map(p, { t: 1 }, '2025-05-05T05:05:05.000Z').temperature).toMatchObject({ observedAt: '2025-05-05T05:05:05.000Z' });
    const e = map(p, { t: 1, TimeInstant: '2025-06-06T06:06:06Z' });
    expect(e.temperature).toMatchObject({ observedAt: '2025-06-06T06:06:06.000Z' });
    expect(e).not.toHaveProperty('TimeInstant');
    expect(map(profile({ timestamp: false }), { t: 1 }).t).toEqual({ type: 'Property', value: 1 });
  });

  it('applies JEXL expressions, including ones computed from other measures, and skipValue', () => {
    const p = profile({
      attributes: [
        { object_id: 'f', name: 'fahrenheit', type: 'Number', expression: 'f * 9 / 5 + 32' },
        { name: 'location', type: 'geo:json', expression: "{coordinates: [lon, lat], type: 'Point'}" },
        { object_id: 'b', name: 'battery', type: 'Number', expression: 'b / 100', skipValue: 0 },
        { object_id: 'n', name: 'label', type: 'Text', expression: 'n | toupper' },
      ],
    });
    const e = map(p, { f: '100', lat: 40.4, lon: -3.7, b: 0, n: 'abc' });
    expect(e.fahrenheit).toMatchObject({ value: 212 });
    expect(e.location).toMatchObject({ type: 'GeoProperty', value: { type: 'Point', coordinates: [-3.7, 40.4] } });
    expect(e).not.toHaveProperty('battery');
    expect(e.label).toMatchObject({ value: 'ABC' });
    expect(dropReason(() => map(profile({ attributes: [{ object_id: 'x', name: 'x', expression: 'x |nosuchtransform' }] }), { x: 1 }))).toBe('expression_failed');
  });

  it('keeps only provisioned attributes under explicitAttrs, and adds static attributes', () => {
    const attributes = [{ object_id: 't', name: 'temperature', type: 'Number' }];
    const statics = [{ name: 'floor', type: 'Integer', value: 3 }];
    const explicit = map(profile({ attributes, static_attributes: statics, explicitAttrs: true }), { t: 1, junk: 2 });
    expect(Object.keys(explicit).sort()).toEqual(['floor', 'id', 'temperature', 'type']);
    expect(explicit.floor).toEqual({ type: 'Property', value: 3 });
    const listed = map(profile({ attributes, explicitAttrs: "['junk']" }), { t: 1, junk: 2 });
    expect(Object.keys(listed).sort()).toEqual(['id', 'junk', 'type']);
    expect(dropReason(() => map(profile({ attributes, explicitAttrs: true }), { junk: 2 }))).toBe('no_attributes');
  });

  it('lets a device mapping win over its group mapping of the same name', () => {
    const p = profile({ attributes: [{ object_id: 'x', name: 'temperature', type: 'Text' }] }, { attributes: [{ object_id: 't', name: 'temperature', type: 'Number' }] });
    expect(map(p, { x: '5' }).temperature).toMatchObject({ value: '5' });
    expect(map(p, { t: '5' })).not.toHaveProperty('temperature');
  });

  it('drops a value its type cannot take', () => {
    const p = profile({ attributes: [{ object_id: 't', name: 'temperature', type: 'Number' }, { object_id: 'c', name: 'count', type: 'Integer' }, { object_id: 'p', name: 'position', type: 'geo:point' }] });
    expect(dropReason(() => map(p, { t: 'warm' }))).toBe('invalid_value');
    expect(dropReason(() => map(p, { c: '2.5' }))).toBe('invalid_value');
    expect(dropReason(() => map(p, { p: '40.4' }))).toBe('invalid_value');
  });
});

describe('Smart Data Models', () => {
  const aq = (device: Partial<Device> = {}) =>
    profile(
      { static_attributes: [{ name: 'location', type: 'geo:json', value: { type: 'Point', coordinates: [-3.7, 40.4] } }], ...device },
      { model: 'AirQualityObserved', attributes: [{ object_id: 'no2', name: 'no2' }, { object_id: 'h', name: 'relativeHumidity' }] },
    );

  it('takes the entity type, attribute types, units and the observation date from the model', () => {
    const p = aq();
    expect(p.entityType).toBe('AirQualityObserved');
    const e = map(p, { no2: '41.5', h: '0.5' });
    expect(e.no2).toEqual({ type: 'Property', value: 41.5, observedAt: RECEIVED, unitCode: 'GQ' });
    expect(e.dateObserved).toEqual({ type: 'Property', value: { '@type': 'DateTime', '@value': RECEIVED } });
  });

  it('drops an entity that breaks the model: a value out of range, a missing required attribute', () => {
    expect(dropReason(() => map(aq(), { h: '1.5' }))).toBe('schema_violation');
    expect(dropReason(() => map(aq({ static_attributes: [] }), { no2: '3' }))).toBe('schema_violation');
  });
});
