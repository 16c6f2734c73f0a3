import { amendEntityForVersion, preferredVersion } from '../../src';

describe('the ngsi-ld preference (RFC 7240)', () => {
  it.each([
    ['ngsi-ld=1.5', '1.5'],
    ['NGSI-LD=1.0', '1.0'],
    ['Ngsi-Ld="1.0"', '1.0'],
    ['ngsi-ld=1.0;q=0.1', '1.0'],
    ['respond-async, ngsi-ld=1.6', '1.6'],
    ['ngsi-ld=2.3', '1.9'],
  ])('%s applies %s', (prefer, version) => {
    expect(preferredVersion(prefer)).toBe(version);
  });

  it.each([[undefined], ['respond-async'], ['ngsi-ld=latest'], ['ngsi-ld']])('%s applies no version', (prefer) => {
    expect(preferredVersion(prefer)).toBeUndefined();
  });
});

describe('entity data amended for an earlier version (4.3.6.8)', () => {
  const entity = () => ({
    id: 'urn:ngsi-ld:Building:1',
    type: ['Building', 'Landmark'],
    scope: '/city',
    category: { type: 'VocabProperty', vocab: 'monument' },
    name: { type: 'LanguageProperty', languageMap: { en: 'Tower', fr: 'Tour' } },
    owner: { type: 'Relationship', object: 'urn:ngsi-ld:Person:1', objectType: 'Person', observedAt: '2026-01-01T00:00:00Z' },
    height: [
      { type: 'Property', value: 120, unitCode: 'MTR', datasetId: 'urn:ngsi-ld:Dataset:laser' },
      { type: 'Property', value: 118, unitCode: 'MTR', sensor: { type: 'JsonProperty', json: { a: 1 } } },
    ],
  });

  it('leaves what a version can express as it is', () => {
    const e = entity();
    expect(amendEntityForVersion(e, '1.9')).toBe(false);
    expect(e).toEqual(entity());
  });

  it('recasts 1.8 kinds for 1.5, sub-attributes included, and drops newer members', () => {
    const e = entity();
    expect(amendEntityForVersion(e, '1.5')).toBe(true);
    expect(e.category).toEqual({ type: 'Property', value: 'monument' });
    expect(e.name.type).toBe('LanguageProperty');
    expect(e.owner).toEqual({ type: 'Relationship', object: 'urn:ngsi-ld:Person:1', observedAt: '2026-01-01T00:00:00Z' });
    expect(e.height[1].sensor).toEqual({ type: 'Property', value: { a: 1 } });
  });

  it("never amends an attribute's content, even JSON shaped like an attribute", () => {
    const json = Object.freeze({ type: 'Reading', valueType: 'raw', expiresAt: 'never' });
    const e = { id: 'urn:ngsi-ld:Thing:1', type: 'Thing', raw: { type: 'JsonProperty', json, expiresAt: '2030-01-01T00:00:00Z' } };
    expect(amendEntityForVersion(e, '1.8')).toBe(true);
    expect(e.raw).toEqual({ type: 'JsonProperty', json: { type: 'Reading', valueType: 'raw', expiresAt: 'never' } });
  });

  it('goes back to single types and single instances for 1.0', () => {
    const e = entity() as Record<string, any>;
    amendEntityForVersion(e, '1.0');
    expect(e.type).toBe('Building');
    expect(e).not.toHaveProperty('scope');
    expect(e.name).toEqual({ type: 'Property', value: { en: 'Tower', fr: 'Tour' } });
    expect(e.height).toEqual({ type: 'Property', value: 118, sensor: { type: 'Property', value: { a: 1 } } });
  });
});
