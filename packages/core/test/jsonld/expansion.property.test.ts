/**
 * The fast path (term maps) against the reference (jsonld.js) on random
 * contexts and random entities: same IRIs for types, attributes,
 * sub-attributes and compound-value members, and the same term chosen when
 * compacting.
 */
import fc from 'fast-check';
import jsonld from 'jsonld';
import { ContextResolver, coreContextDocument, DEFAULT_CORE_CONTEXT } from '../../src/jsonld';
import { EntityParser } from '../../src/model/parse';

const coreTerms = new Set(Object.keys((coreContextDocument(DEFAULT_CORE_CONTEXT) as { '@context': object })['@context']));
const documentLoader = async (url: string) => {
  const document = coreContextDocument(url);
  if (!document) throw new Error(`unexpected fetch of ${url}`);
  return { contextUrl: null, documentUrl: url, document };
};

/** Short names that are not core terms (those are protected) and not JSON-LD keywords. */
const term = fc.stringMatching(/^[a-z][a-zA-Z0-9]{0,6}$/).filter((t) => !coreTerms.has(t) && t !== 'ex' && t !== 'sdm');

/** A user context: some terms map to full IRIs, some to compact IRIs over prefixes it defines. */
const userContext = fc
  .uniqueArray(fc.tuple(term, fc.constantFrom('full', 'ex', 'sdm'), term), { minLength: 1, maxLength: 8, selector: ([t]) => t })
  .map((defs) => {
    const ctx: Record<string, string> = { ex: 'http://example.org/ns#', sdm: 'https://smartdatamodels.org/dataModel.Test/' };
    for (const [name, kind, local] of defs) ctx[name] = kind === 'full' ? `http://other.example/${local}` : `${kind}:${local}`;
    return ctx;
  });

/** A compound value: nested objects with scalar leaves. */
const compound: fc.Arbitrary<Record<string, unknown>> = fc.letrec((tie) => ({
  node: fc.dictionary(term, fc.oneof({ depthSize: 'small' }, fc.integer(), fc.string({ maxLength: 5 }), fc.boolean(), tie('node')), {
    minKeys: 1,
    maxKeys: 3,
  }),
})).node as fc.Arbitrary<Record<string, unknown>>;

const attribute = fc.oneof(
  fc.record({ type: fc.constant('Property'), value: fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), compound) }),
  fc.record({ type: fc.constant('Relationship'), object: fc.constant('urn:ngsi-ld:Thing:1') }),
);

function entityWith(names: string[], typeName: string) {
  return fc.tuple(fc.array(attribute, { minLength: names.length, maxLength: names.length }), fc.array(fc.option(attribute), { minLength: names.length, maxLength: names.length })).map(([attrs, subs]) => {
    const entity: Record<string, unknown> = { id: 'urn:ngsi-ld:Thing:1', type: typeName };
    names.forEach((n, i) => {
      const sub = subs[i];
      // A sub-attribute named like the attribute's sibling keeps the name space mixed.
      entity[n] = sub ? { ...attrs[i], [names[(i + 1) % names.length]]: sub } : attrs[i];
    });
    return entity;
  });
}

/** jsonld.js expanded node -> the plain shape our stored form has (IRIs as keys, bare scalars). */
function plain(expanded: unknown): unknown {
  if (Array.isArray(expanded)) return plain(expanded[0]);
  if (typeof expanded !== 'object' || expanded === null) return expanded;
  const o = expanded as Record<string, unknown>;
  if ('@value' in o) return o['@value'];
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, plain(v)]));
}

const HAS_VALUE = 'https://uri.etsi.org/ngsi-ld/hasValue';
const HAS_OBJECT = 'https://uri.etsi.org/ngsi-ld/hasObject';

/** What jsonld.js says about one attribute node: its sub-attribute IRIs and its value. */
function referenceAttribute(node: Record<string, unknown>) {
  const subs = Object.keys(node).filter((k) => !k.startsWith('@') && k !== HAS_VALUE && k !== HAS_OBJECT).sort();
  return { subs, value: node[HAS_VALUE] === undefined ? undefined : plain(node[HAS_VALUE]) };
}

/** Found by the property below: two terms of the context that expand to the same attribute IRI. */
const TWO_TERMS_ONE_IRI: [Record<string, string>, Record<string, unknown>] = [
  { ex: 'http://example.org/ns#', sdm: 'https://smartdatamodels.org/dataModel.Test/', gsap: 'ex:tc', i: 'ex:e', n: 'ex:hk56q', tO9v: 'ex:e' },
  { id: 'urn:ngsi-ld:Thing:1', type: 'gsap', i: { type: 'Property', value: 0 }, tO9v: { type: 'Property', value: { a: '' } } },
];

describe('expansion equals jsonld.js', () => {
  const resolver = new ContextResolver();

  test('types, attributes, sub-attributes and compound values', async () => {
    await fc.assert(
      fc.asyncProperty(
        userContext.chain((ctx) => {
          const names = Object.keys(ctx).filter((k) => k !== 'ex' && k !== 'sdm');
          return fc.tuple(fc.constant(ctx), fc.subarray(names, { minLength: 1 }), fc.constantFrom(...names, 'UnmappedType'));
        }).chain(([ctx, names, typeName]) => fc.tuple(fc.constant(ctx), entityWith(names, typeName))),
        async ([ctx, entity]) => {
          const active = await resolver.resolve(ctx);
          const names = Object.keys(entity).filter((k) => k !== 'id' && k !== 'type');
          const iris = names.map((n) => active.expandTerm(n));
          if (new Set(iris).size < iris.length) {
            // Two terms for one IRI: jsonld.js merges them, the broker refuses the attribute given twice.
            expect(() => new EntityParser(active, { requireIdAndType: true }).entity(entity)).toThrow(/given twice/);
            return;
          }
          const ours = new EntityParser(active, { requireIdAndType: true }).entity(entity);
          const [reference] = (await jsonld.expand({ ...entity, '@context': [ctx, DEFAULT_CORE_CONTEXT] }, { documentLoader } as never)) as unknown as Array<Record<string, unknown>>;

          expect(ours.types).toEqual(reference['@type']);
          const referenceAttrs = Object.keys(reference).filter((k) => !k.startsWith('@')).sort();
          expect(Object.keys(ours.attrs).sort()).toEqual(referenceAttrs);
          for (const iri of referenceAttrs) {
            const expected = referenceAttribute((reference[iri] as Array<Record<string, unknown>>)[0]);
            const [instance] = ours.attrs[iri];
            expect(Object.keys(instance.sub ?? {}).sort()).toEqual(expected.subs);
            if (instance.type === 'Property') expect(instance.value).toEqual(expected.value);
          }
        },
      ),
      { numRuns: 150, examples: [[TWO_TERMS_ONE_IRI]] },
    );
  });

  test('compaction picks the term jsonld.js picks, and round-trips', async () => {
    await fc.assert(
      fc.asyncProperty(userContext, async (ctx) => {
        const active = await resolver.resolve(ctx);
        for (const name of Object.keys(ctx)) {
          const iri = active.expandTerm(name);
          const compacted = (await jsonld.compact({ [iri]: 'v' }, [ctx, DEFAULT_CORE_CONTEXT] as never, { documentLoader } as never)) as unknown as Record<string, unknown>;
          const referenceTerm = Object.keys(compacted).find((k) => k !== '@context');
          expect(active.compactIri(iri)).toBe(referenceTerm);
          expect(active.expandTerm(active.compactIri(iri))).toBe(iri);
        }
        // An IRI no term covers: jsonld.js falls back to the vocab-relative or full form, and so do we.
        const stray = 'https://uri.etsi.org/ngsi-ld/default-context/strayAttribute';
        const compacted = (await jsonld.compact({ [stray]: 'v' }, [ctx, DEFAULT_CORE_CONTEXT] as never, { documentLoader } as never)) as unknown as Record<string, unknown>;
        expect(active.compactIri(stray)).toBe(Object.keys(compacted).find((k) => k !== '@context'));
      }),
      { numRuns: 60 },
    );
  });
});
