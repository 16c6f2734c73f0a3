/**
 * Whatever the parser accepts, the renderer gives back in a form the parser
 * reads as the same entity: normalized and concise alike (4.5.1, 4.5.2).
 */
import fc from 'fast-check';
import { ContextResolver } from '../../src/jsonld';
import type { ActiveContext } from '../../src/jsonld/activeContext';
import { createEntity } from '../../src/model/operations';
import { EntityParser } from '../../src/model/parse';
import { EntityRenderer, Format } from '../../src/model/render';

const name = fc.stringMatching(/^[a-z][a-zA-Z0-9]{0,6}$/).map((s) => `x${s}`);
const uri = fc.stringMatching(/^[a-z0-9]{1,6}$/).map((s) => `urn:ngsi-ld:Thing:${s}`);
/** JSON has no negative zero, so none is generated. */
const double = (c: fc.DoubleConstraints = {}) => fc.double({ noNaN: true, noDefaultInfinity: true, ...c }).map((x) => (x === 0 ? 0 : x));
const scalar = fc.oneof(fc.integer(), fc.string({ maxLength: 6 }).filter((s) => s !== 'urn:ngsi-ld:null'), fc.boolean(), double());
const compound = fc.dictionary(name, scalar, { minKeys: 1, maxKeys: 3 });
const point = fc.tuple(double({ min: -180, max: 180 }), double({ min: -90, max: 90 })).map(([lon, lat]) => ({ type: 'Point', coordinates: [lon, lat] }));
const observedAt = fc.date({ min: new Date('2000-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((d) => d.toISOString());

const content = fc.oneof(
  fc.record({ type: fc.constant('Property'), value: fc.oneof(scalar, compound, fc.array(scalar, { minLength: 2, maxLength: 3 })) }),
  fc.record({ type: fc.constant('Relationship'), object: uri }),
  fc.record({ type: fc.constant('GeoProperty'), value: point }),
  fc.record({ type: fc.constant('LanguageProperty'), languageMap: fc.dictionary(fc.constantFrom('en', 'es', 'fr'), fc.string({ maxLength: 5 }), { minKeys: 1 }) }),
  fc.record({ type: fc.constant('VocabProperty'), vocab: name }),
  fc.record({ type: fc.constant('JsonProperty'), json: fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(scalar, fc.constant(null)), { minKeys: 1 }) }),
  fc.record({ type: fc.constant('ListProperty'), valueList: fc.array(scalar, { maxLength: 3 }) }),
  fc.record({ type: fc.constant('ListRelationship'), objectList: fc.array(uri, { minLength: 1, maxLength: 3 }).map((l) => l.map((object) => ({ object }))) }),
);

const attribute = fc
  .tuple(content, fc.option(observedAt), fc.option(fc.constantFrom('CEL', 'MTR')), fc.option(fc.tuple(name, content)))
  .map(([c, at, unit, sub]) => {
    const a: Record<string, unknown> = { ...c };
    if (at) a.observedAt = at;
    if (unit && (c.type === 'Property' || c.type === 'GeoProperty')) a.unitCode = unit;
    if (sub) a[`s${sub[0]}`] = sub[1];
    return a;
  });

const entity = fc.tuple(uri, fc.constantFrom('Vehicle', 'Building', 'ex:Custom'), fc.dictionary(name, fc.oneof(attribute, fc.tuple(attribute, attribute)), { maxKeys: 5 })).map(
  ([id, type, attrs]) => {
    const e: Record<string, unknown> = { id, type };
    for (const [k, v] of Object.entries(attrs)) {
      // A pair becomes a multi-instance attribute: a default instance and one with a datasetId.
      e[k] = Array.isArray(v) ? [v[0], { ...v[1], datasetId: 'urn:ngsi-ld:Dataset:two' }] : v;
    }
    return e;
  },
);

/** Found by this property: a concise default instance beside a datasetId instance once rendered as a bare geometry. */
const multiInstanceGeometry = {
  id: 'urn:ngsi-ld:Thing:a',
  type: 'Vehicle',
  xa: [
    { type: 'GeoProperty', value: { type: 'Point', coordinates: [0, 0] } },
    { type: 'ListRelationship', objectList: [{ object: 'urn:ngsi-ld:Thing:a' }], datasetId: 'urn:ngsi-ld:Dataset:two' },
  ],
};

let ctx: ActiveContext;
beforeAll(async () => {
  ctx = await new ContextResolver().resolve({ ex: 'http://example.org/ns#' });
});

test.each<Format>(['normalized', 'concise'])('parse(render(%s)) is the entity that was parsed', (format) => {
  fc.assert(
    fc.property(entity, (input) => {
      const parser = new EntityParser(ctx, { requireIdAndType: true });
      const stored = createEntity(parser.entity(input), '2026-11-25T10:00:00.000000Z');
      const rendered = new EntityRenderer(ctx, { format }).entity(stored);
      const reparsed = parser.entity(JSON.parse(JSON.stringify(rendered)));
      const withoutStamps = createEntity(reparsed, stored.createdAt);
      expect(withoutStamps).toEqual(stored);
    }),
    { numRuns: 300, examples: [[multiInstanceGeometry]] },
  );
});

test('normalized output of a parsed normalized entity is the input itself', () => {
  fc.assert(
    fc.property(entity, (input) => {
      const stored = createEntity(new EntityParser(ctx, { requireIdAndType: true }).entity(input), '2026-11-25T10:00:00.000000Z');
      expect(new EntityRenderer(ctx, { format: 'normalized' }).entity(stored)).toEqual(input);
    }),
    { numRuns: 300 },
  );
});
