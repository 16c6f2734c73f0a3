/**
 * The Smart Data Models the agent knows: a JSON Schema per model under
 * `schemas/smart-data-models/` and its @context under
 * `ontologies/smart-data-models/`. A schema property may carry an `x-ngsi`
 * annotation (`type`: Property, GeoProperty or Relationship; `unitCode`;
 * `default: "observedAt"` for a date the observation time fills), which is
 * where a config group naming the model takes its defaults from.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Ajv2020, { ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

interface NgsiAnnotation {
  type?: 'Property' | 'GeoProperty' | 'Relationship';
  unitCode?: string;
  default?: 'observedAt';
}

interface SchemaProperty {
  type?: string | string[];
  format?: string;
  'x-ngsi'?: NgsiAnnotation;
}

export interface SmartDataModel {
  /** The model's name, which is also the entity type. */
  name: string;
  /** The model's @context document. */
  context: Record<string, unknown>;
  /** The FIWARE attribute type (Number, Integer, Boolean, DateTime, Text, GeoProperty, Relationship) of a property, if the model has it. */
  attributeType(name: string): string | undefined;
  unitCode(name: string): string | undefined;
  /** Properties that take the observation time when a payload does not give them. */
  observationDates: string[];
  /** Undefined when `keyValues` follows the model; otherwise what is wrong. */
  validate(keyValues: Record<string, unknown>): string | undefined;
}

/** Repository folders, found from this file whether it runs from src/ or dist/. */
const ROOT = resolve(__dirname, '..', '..', '..', '..');
export const SCHEMAS_DIR = join(ROOT, 'schemas', 'smart-data-models');
export const ONTOLOGIES_DIR = join(ROOT, 'ontologies', 'smart-data-models');

function attributeTypeOf(p: SchemaProperty): string | undefined {
  const ngsi = p['x-ngsi']?.type;
  if (ngsi === 'GeoProperty' || ngsi === 'Relationship') return ngsi;
  const type = Array.isArray(p.type) ? p.type[0] : p.type;
  switch (type) {
    case 'number':
      return 'Number';
    case 'integer':
      return 'Integer';
    case 'boolean':
      return 'Boolean';
    case 'string':
      return p.format === 'date-time' ? 'DateTime' : 'Text';
    case 'object':
      return 'StructuredValue';
    case 'array':
      return 'Array';
    default:
      return undefined;
  }
}

function describeErrors(validate: ValidateFunction): string {
  return (validate.errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath || '(entity)'} ${e.message}`)
    .join('; ');
}

export class ModelCatalog {
  private readonly models = new Map<string, SmartDataModel>();

  constructor(schemasDir = SCHEMAS_DIR, ontologiesDir = ONTOLOGIES_DIR) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
    addFormats(ajv);
    ajv.addKeyword({ keyword: 'x-ngsi' });
    for (const file of readdirSync(schemasDir).filter((f) => f.endsWith('.schema.json')).sort()) {
      const name = file.slice(0, -'.schema.json'.length);
      const schema = JSON.parse(readFileSync(join(schemasDir, file), 'utf8'));
      const context = JSON.parse(readFileSync(join(ontologiesDir, `${name}.jsonld`), 'utf8'));
      const properties: Record<string, SchemaProperty> = schema.properties ?? {};
      const validate = ajv.compile(schema);
      this.models.set(name, {
        name,
        context,
        attributeType: (attr) => (properties[attr] ? attributeTypeOf(properties[attr]) : undefined),
        unitCode: (attr) => properties[attr]?.['x-ngsi']?.unitCode,
        observationDates: Object.keys(properties).filter((p) => properties[p]['x-ngsi']?.default === 'observedAt'),
        validate: (keyValues) => (validate(keyValues) ? undefined : describeErrors(validate)),
      });
    }
  }

  get(name: string): SmartDataModel | undefined {
    return this.models.get(name);
  }

  names(): string[] {
    return [...this.models.keys()];
  }
}
