/**
 * A device as the southbound sees it: its own provisioning over its config
 * group's, over its Smart Data Model's defaults, merged once per lookup.
 */
import type { AttributeMapping, CommandDefinition, ConfigGroup, Device, StaticAttribute } from '../provisioning/model';
import type { SmartDataModel } from './smartDataModels';
import { evaluate } from './expressions';

export interface DeviceProfile {
  service: string;
  subservice: string;
  deviceId: string;
  /** The key the device reports with (its own or its group's). */
  apikey: string;
  entityId: string;
  entityType: string;
  attributes: AttributeMapping[];
  /** The attribute mappings by the name measures arrive under (object_id, else name). */
  mappingOf: Map<string, AttributeMapping>;
  staticAttributes: StaticAttribute[];
  commands: CommandDefinition[];
  explicitAttrs?: boolean | string;
  /** Measured attributes carry observedAt. */
  timestamp: boolean;
  model?: SmartDataModel;
  transport?: string;
  endpoint?: string;
  protocol?: string;
  /** Commands are queued until the device asks for them. */
  polling: boolean;
}

/** FIWARE's default entity type for devices whose group names none. */
export const DEFAULT_ENTITY_TYPE = 'Device';

/** The entity type a device writes: its own, else its group's, else its group's model (the model's name is its type), else Device. */
export function entityTypeOf(device: Pick<Device, 'entity_type'> | undefined, group: ConfigGroup | undefined): string {
  return device?.entity_type ?? group?.entity_type ?? group?.model ?? DEFAULT_ENTITY_TYPE;
}

/** The entity id of a device that was not given one: the group's `entityNameExp`, or `urn:ngsi-ld:{type}:{deviceId}`. */
export function defaultEntityId(deviceId: string, entityType: string, group?: ConfigGroup, service?: string, subservice?: string): string {
  if (group?.entityNameExp) {
    const name = evaluate(group.entityNameExp, { id: deviceId, type: entityType, service, subservice });
    if (typeof name === 'string' && name !== '') return name;
  }
  return `urn:ngsi-ld:${entityType}:${deviceId}`;
}

/** Device entries first, so that a device's own mapping of a name wins over its group's. */
function byName<T extends { name: string }>(own: T[] = [], inherited: T[] = []): T[] {
  const names = new Set(own.map((a) => a.name));
  return [...own, ...inherited.filter((a) => !names.has(a.name))];
}

export function deviceProfile(
  record: { service: string; subservice: string; entityName: string; body: Device },
  group: ConfigGroup | undefined,
  model: SmartDataModel | undefined,
): DeviceProfile {
  const device = record.body;
  const attributes = byName(device.attributes, group?.attributes);
  return {
    service: record.service,
    subservice: record.subservice,
    deviceId: device.device_id,
    apikey: device.apikey ?? group?.apikey ?? '',
    entityId: record.entityName,
    entityType: entityTypeOf(device, group),
    attributes,
    mappingOf: new Map(attributes.map((a) => [a.object_id ?? a.name, a])),
    staticAttributes: byName(device.static_attributes, group?.static_attributes),
    commands: byName(device.commands, group?.commands),
    explicitAttrs: device.explicitAttrs ?? group?.explicitAttrs,
    timestamp: (device.timestamp ?? group?.timestamp) !== false,
    model,
    transport: device.transport ?? group?.transport,
    endpoint: device.endpoint ?? group?.endpoint,
    // A group on FIWARE's JSON resource speaks JSON even when it does not say so.
    protocol: device.protocol ?? group?.protocol ?? (group?.resource === '/iot/json' ? 'PDI-IoTA-JSON' : undefined),
    polling: device.polling ?? ((device.transport ?? group?.transport) === 'HTTP' && !(device.endpoint ?? group?.endpoint)),
  };
}
