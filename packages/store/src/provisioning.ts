/**
 * What the IoT agent keeps about config groups, devices and the commands
 * waiting for polling devices. The store keeps the provisioning documents as
 * given; the agent owns their meaning.
 */

/** A config group, keyed as FIWARE keys it: by service path, resource and API key. */
export interface ConfigGroupRecord {
  service: string;
  subservice: string;
  resource: string;
  apikey: string;
  /** The group as provisioned (FIWARE provisioning API field names). */
  body: Record<string, unknown>;
}

export interface DeviceRecord {
  service: string;
  subservice: string;
  deviceId: string;
  /** The device's own API key, when it has one (otherwise its group's). */
  apikey?: string;
  /** The id of the entity the device writes. */
  entityName: string;
  body: Record<string, unknown>;
}

export interface PendingCommand {
  id: string;
  name: string;
  value: unknown;
  createdAt: string;
}

/** Which records a listing covers: a service, and one service path or all of them. */
export interface ServiceScope {
  service: string;
  /** Undefined: every service path of the service (FIWARE's `/*`). */
  subservice?: string;
}

export interface ProvisioningStore {
  /** Inserts the groups; false (and nothing inserted) when one of them already exists. */
  createGroups(groups: ConfigGroupRecord[]): Promise<boolean>;
  listGroups(scope: ServiceScope, limit: number, offset: number): Promise<{ count: number; groups: ConfigGroupRecord[] }>;
  /** Every group with this API key, in any service. */
  groupsByApikey(apikey: string): Promise<ConfigGroupRecord[]>;
  /** Replaces a group's body; false when no such group. */
  updateGroup(service: string, subservice: string, resource: string, apikey: string, body: Record<string, unknown>): Promise<boolean>;
  /** Deletes a group (and, when asked, its devices); false when no such group. */
  deleteGroup(service: string, subservice: string, resource: string, apikey: string, withDevices: boolean): Promise<boolean>;

  /** Inserts the devices; false (and nothing inserted) when one of them already exists. */
  createDevices(devices: DeviceRecord[]): Promise<boolean>;
  /** Inserts the device unless it exists; returns the stored one either way (autoprovisioning races). */
  ensureDevice(device: DeviceRecord): Promise<DeviceRecord>;
  listDevices(scope: ServiceScope, limit: number, offset: number): Promise<{ count: number; devices: DeviceRecord[] }>;
  getDevice(scope: ServiceScope, deviceId: string): Promise<DeviceRecord | undefined>;
  /** The device `deviceId` reachable with `apikey`: its own key, or a key of a group of its service path. */
  findDevice(apikey: string, deviceId: string): Promise<DeviceRecord | undefined>;
  /** The device writing entity `entityName` in `service`. */
  deviceByEntity(service: string, entityName: string): Promise<DeviceRecord | undefined>;
  updateDevice(device: DeviceRecord): Promise<boolean>;
  deleteDevice(service: string, subservice: string, deviceId: string): Promise<boolean>;

  /** Queues a command for a device that polls. */
  queueCommand(service: string, subservice: string, deviceId: string, name: string, value: unknown): Promise<void>;
  /** Takes (removes and returns) the device's queued commands, oldest first. */
  takeCommands(service: string, subservice: string, deviceId: string): Promise<PendingCommand[]>;
}
