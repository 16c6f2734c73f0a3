/**
 * Config groups and devices as the FIWARE IoT Agent provisioning API writes
 * them (field names included), and the JSON Schemas their requests are
 * checked against.
 */

/** FIWARE attribute metadata: `{"unitCode": {"type": "Text", "value": "CEL"}}`. */
export type AttributeMetadata = Record<string, { type?: string; value: unknown }>;

/** An active attribute: how a measure named `object_id` becomes attribute `name`. */
export interface AttributeMapping {
  object_id?: string;
  name: string;
  type?: string;
  /** A JEXL expression computing the value from the measures. */
  expression?: string;
  /** When the value (after the expression) equals this, the attribute is left out. */
  skipValue?: unknown;
  metadata?: AttributeMetadata;
}

export interface StaticAttribute {
  name: string;
  type?: string;
  value: unknown;
  metadata?: AttributeMetadata;
}

export interface CommandDefinition {
  name: string;
  type?: string;
  object_id?: string;
  expression?: string;
}

/** What a config group and a device may both say about the devices it covers. */
interface DeviceSettings {
  entity_type?: string;
  attributes?: AttributeMapping[];
  lazy?: AttributeMapping[];
  commands?: CommandDefinition[];
  static_attributes?: StaticAttribute[];
  internal_attributes?: unknown;
  /** true: only provisioned attributes; false: every measure; a string: a JEXL expression giving either or a list of names. */
  explicitAttrs?: boolean | string;
  /** false leaves out observedAt (by default every measured attribute has one). */
  timestamp?: boolean;
  transport?: string;
  endpoint?: string;
  protocol?: string;
  [extra: string]: unknown;
}

export interface ConfigGroup extends DeviceSettings {
  resource: string;
  apikey: string;
  autoprovision?: boolean;
  /** JEXL expression for the entity id of devices without `entity_name`. */
  entityNameExp?: string;
  /** A Smart Data Model the entities follow: its defaults apply and every entity is validated against it. */
  model?: string;
  cbHost?: string;
  trust?: string;
}

export interface Device extends DeviceSettings {
  device_id: string;
  entity_name?: string;
  apikey?: string;
  timezone?: string;
  /** Commands wait for the device to ask for them (HTTP devices without an endpoint always poll). */
  polling?: boolean;
}

/** An attribute or entity type name: none of the characters NGSI forbids in names. */
const NAME = { type: 'string', minLength: 1, pattern: '^[^\\s<>"\'=;()]+$' };
/** An API key or device id: they are MQTT topic levels, so no '/', '#', '+' or spaces. */
const TOPIC_LEVEL = { type: 'string', minLength: 1, pattern: '^[^/#+\\s]+$' };

const attribute = {
  type: 'object',
  required: ['name'],
  properties: {
    object_id: { type: 'string', minLength: 1 },
    name: NAME,
    type: { type: 'string' },
    expression: { type: 'string' },
    metadata: { type: 'object' },
  },
};

const staticAttribute = {
  type: 'object',
  required: ['name'],
  properties: { name: NAME, type: { type: 'string' }, metadata: { type: 'object' } },
};

const settings = {
  entity_type: NAME,
  attributes: { type: 'array', items: attribute },
  lazy: { type: 'array', items: attribute },
  commands: { type: 'array', items: attribute },
  static_attributes: { type: 'array', items: staticAttribute },
  explicitAttrs: { type: ['boolean', 'string'] },
  timestamp: { type: 'boolean' },
  transport: { type: 'string', enum: ['MQTT', 'HTTP', 'AMQP', 'UDP', 'LoRaWAN'] },
  endpoint: { type: 'string', format: 'uri' },
  protocol: { type: 'string' },
};

export const CONFIG_GROUP_SCHEMA = {
  type: 'object',
  required: ['apikey'],
  properties: {
    ...settings,
    resource: { type: 'string' },
    apikey: TOPIC_LEVEL,
    autoprovision: { type: 'boolean' },
    entityNameExp: { type: 'string' },
    model: { type: 'string' },
    cbHost: { type: 'string' },
    trust: { type: 'string' },
  },
};

export const DEVICE_SCHEMA = {
  type: 'object',
  required: ['device_id'],
  properties: {
    ...settings,
    device_id: TOPIC_LEVEL,
    entity_name: { type: 'string', minLength: 1 },
    apikey: TOPIC_LEVEL,
    timezone: { type: 'string' },
    polling: { type: 'boolean' },
  },
};
