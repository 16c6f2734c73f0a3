/**
 * Finds the device behind a southbound message (by API key and device id),
 * autoprovisioning it where its group allows, and keeps recent answers for a
 * few seconds: every measure needs one, and provisioning changes rarely.
 * Changes made through this agent's own API clear the cache at once.
 *
 * A profile past its time still answers while it is read again in the
 * background, and each answer is kept for a time drawn around the TTL: a
 * fleet looked up all at once (an agent started, a thousand devices
 * autoprovisioned) would otherwise expire all at once, every TTL, and its
 * measures wait on a thousand reads together. An unknown device is asked
 * again before its messages are dropped.
 */
import type { ConfigGroupRecord, DeviceRecord, ProvisioningStore } from '@civitas/store';
import { DropError } from '../dropReasons';
import { defaultEntityId, deviceProfile, DeviceProfile, entityTypeOf } from '../mapping/deviceProfile';
import type { ModelCatalog } from '../mapping/smartDataModels';
import type { ConfigGroup, Device } from './model';

interface Cached {
  value: DeviceProfile | DropError;
  expires: number;
}

const MAX_CACHED = 100_000;
/**
 * How long groups read again for a device whose group they lacked are taken
 * as current for other such devices: devices provisioned on their own,
 * under a key whose groups lie in other service paths, lack theirs for good.
 */
const REREAD_MS = 1_000;

export class DeviceRegistry {
  private readonly cache = new Map<string, Cached>();
  /** Lookups under way, shared so that a device's messages resolve in the order they came. */
  private readonly pending = new Map<string, Promise<DeviceProfile | DropError>>();
  /**
   * The config groups of each API key, read once per expiry for all its devices: a thousand devices appearing
   * at once (an agent started, a new group) would otherwise read their group a thousand times.
   */
  private readonly groups = new Map<string, { records: Promise<ConfigGroupRecord[]>; expires: number; reread?: number }>();

  /** Called with every device the registry autoprovisioned and its profile, so that its entity and commands can be set up. */
  onAutoprovisioned: (device: DeviceRecord, profile: DeviceProfile) => void = () => undefined;

  constructor(
    readonly store: ProvisioningStore,
    private readonly models: ModelCatalog,
    private readonly ttlMs = 5_000,
  ) {}

  /** The device's profile; throws DropError (unknown_apikey, unknown_device) when there is none to be had. */
  async lookup(apikey: string, deviceId: string, resource?: string): Promise<DeviceProfile> {
    const key = `${apikey}\u0000${deviceId}\u0000${resource ?? ''}`;
    const hit = this.cache.get(key);
    const fresh = hit !== undefined && hit.expires > Date.now();
    if (hit && !(hit.value instanceof DropError)) {
      // A failed read in the background leaves the entry as it is: the next message tries again.
      if (!fresh) this.read(key, apikey, deviceId, resource).catch(() => undefined);
      return hit.value;
    }
    const value = fresh ? hit.value : await this.read(key, apikey, deviceId, resource);
    if (value instanceof DropError) throw value;
    return value;
  }

  /** Reads a device's profile, one read at a time per device, and keeps the answer. */
  private read(key: string, apikey: string, deviceId: string, resource?: string): Promise<DeviceProfile | DropError> {
    let lookup = this.pending.get(key);
    if (!lookup) {
      lookup = this.resolve(apikey, deviceId, resource)
        .catch((e) => {
          if (e instanceof DropError) return e;
          throw e;
        })
        .then((value) => {
          if (this.cache.size >= MAX_CACHED) this.cache.clear();
          this.cache.set(key, { value, expires: Date.now() + this.ttlMs * (0.75 + Math.random() / 2) });
          return value;
        })
        .finally(() => this.pending.delete(key));
      this.pending.set(key, lookup);
    }
    return lookup;
  }

  /** The profile of a device known by its record (commands, provisioning-time writes). */
  async profileOf(record: DeviceRecord): Promise<DeviceProfile> {
    const { groups } = await this.store.listGroups({ service: record.service, subservice: record.subservice }, 1000, 0);
    return this.profile(record, groupForDevice(groups.map(groupOf), { ...(record.body as unknown as Device), apikey: record.apikey }));
  }

  invalidate(): void {
    this.cache.clear();
    this.groups.clear();
  }

  /** The API key's groups, from the cache unless they expired, or unless `reread` and they were not read again lately. */
  private groupsOf(apikey: string, reread = false): Promise<ConfigGroupRecord[]> {
    const now = Date.now();
    const known = this.groups.get(apikey);
    if (known && known.expires > now && (!reread || (known.reread ?? 0) > now - REREAD_MS)) return known.records;
    if (this.groups.size >= MAX_CACHED) this.groups.clear();
    const records = this.store.groupsByApikey(apikey);
    const entry = { records, expires: now + this.ttlMs, reread: reread ? now : undefined };
    this.groups.set(apikey, entry);
    // A failed read is not kept: the next message tries again.
    records.catch(() => {
      if (this.groups.get(apikey) === entry) this.groups.delete(apikey);
    });
    return records;
  }

  private async resolve(apikey: string, deviceId: string, resource?: string): Promise<DeviceProfile> {
    let groups = await this.groupsOf(apikey);
    const device = await this.store.findDevice(apikey, deviceId);
    if (device) {
      const ofDevice = (list: ConfigGroupRecord[]) => list.find((g) => g.service === device.service && g.subservice === device.subservice);
      let group = ofDevice(groups);
      // A device whose group the cached list lacks may have been provisioned with it since (by another process): read them again.
      if (!group) {
        groups = await this.groupsOf(apikey, true);
        group = ofDevice(groups);
      }
      return this.profile(device, group && groupOf(group));
    }
    if (groups.length === 0) throw new DropError('unknown_apikey', `No config group or device has the API key "${apikey}"`);
    const groupRecord = groups.find((g) => resource === undefined || g.resource === resource || g.resource === '') ?? groups[0];
    const group = groupOf(groupRecord);
    if (group.autoprovision === false) {
      throw new DropError('unknown_device', `Device "${deviceId}" is not provisioned and group "${apikey}" does not autoprovision`);
    }
    const type = entityTypeOf(undefined, group);
    const created = await this.store.ensureDevice({
      service: groupRecord.service,
      subservice: groupRecord.subservice,
      deviceId,
      // Kept with the device, so that it stays tied to this group among others of its service path.
      apikey: groupRecord.apikey,
      entityName: defaultEntityId(deviceId, type, group, groupRecord.service, groupRecord.subservice),
      body: { device_id: deviceId, ...(group.transport ? { transport: group.transport } : {}), ...(group.protocol ? { protocol: group.protocol } : {}) },
    });
    const profile = this.profile(created, group);
    this.onAutoprovisioned(created, profile);
    return profile;
  }

  private profile(record: DeviceRecord, group: ConfigGroup | undefined): DeviceProfile {
    const modelName = group?.model;
    return deviceProfile({ ...record, body: record.body as unknown as Device }, group, modelName ? this.models.get(modelName) : undefined);
  }
}

export const groupOf = (record: ConfigGroupRecord): ConfigGroup => ({ ...(record.body as object), resource: record.resource, apikey: record.apikey }) as ConfigGroup;

/**
 * The config group of a device among those of its service path: the one with
 * its API key, else the one producing its entity type, else the only (or
 * first) one, the way FIWARE agents pair them.
 */
export function groupForDevice(groups: ConfigGroup[], device: Pick<Device, 'apikey' | 'entity_type'>): ConfigGroup | undefined {
  if (device.apikey) {
    const byKey = groups.find((g) => g.apikey === device.apikey);
    if (byKey) return byKey;
  }
  if (device.entity_type) {
    const byType = groups.find((g) => entityTypeOf(undefined, g) === device.entity_type);
    if (byType) return byType;
  }
  return groups[0];
}
