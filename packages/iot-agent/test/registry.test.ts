/** The device registry over a real (embedded) provisioning store: what it reads, and what it reads once. */
import { openStore } from '@civitas/store';
import type { DeviceRecord, ProvisioningStore } from '@civitas/store';
import { ModelCatalog } from '../src';
import type { DeviceProfile } from '../src/mapping/deviceProfile';
import { DeviceRegistry } from '../src/provisioning/registry';
import { pgliteTemplate } from '../../../test/support/pgliteTemplate';

/** The store, counting how often the registry reads each API key's groups, and devices. */
function counted(store: ProvisioningStore): ProvisioningStore & { groupReads: number; deviceReads: number } {
  const wrapper = Object.create(store) as ProvisioningStore & { groupReads: number; deviceReads: number };
  wrapper.groupReads = 0;
  wrapper.deviceReads = 0;
  wrapper.groupsByApikey = (apikey) => {
    wrapper.groupReads += 1;
    return store.groupsByApikey(apikey);
  };
  wrapper.findDevice = (apikey, deviceId) => {
    wrapper.deviceReads += 1;
    return store.findDevice(apikey, deviceId);
  };
  return wrapper;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('DeviceRegistry', () => {
  let close: () => Promise<void>;
  let provisioning: ProvisioningStore & { groupReads: number; deviceReads: number };

  beforeAll(async () => {
    const store = await openStore({ template: pgliteTemplate() });
    close = () => store.close();
    provisioning = counted(store.provisioning);
    await provisioning.createGroups([{ service: 'city', subservice: '/', resource: '/iot/d', apikey: 'fleet', body: { entity_type: 'Sensor', autoprovision: true } }]);
  });
  afterAll(() => close());

  test('devices of one API key appearing together read its groups once, and each is autoprovisioned with its profile', async () => {
    const registry = new DeviceRegistry(provisioning, new ModelCatalog(), 60_000);
    const provisioned: Array<[DeviceRecord, DeviceProfile]> = [];
    registry.onAutoprovisioned = (record, profile) => provisioned.push([record, profile]);
    const profiles = await Promise.all(Array.from({ length: 50 }, (_, i) => registry.lookup('fleet', `dev${i}`)));
    expect(provisioning.groupReads).toBe(1);
    expect(profiles.map((p) => p.entityType)).toEqual(Array(50).fill('Sensor'));
    expect(provisioned).toHaveLength(50);
    expect(provisioned[7][0].deviceId).toBe('dev7');
    expect(provisioned[7][1]).toEqual(profiles[7]);
    expect(await provisioning.findDevice('fleet', 'dev49')).toMatchObject({ deviceId: 'dev49', apikey: 'fleet' });
  });

  test('invalidating the registry, as the agent\'s API does on every change, clears the groups it read', async () => {
    const registry = new DeviceRegistry(provisioning, new ModelCatalog(), 60_000);
    await registry.lookup('fleet', 'late0');
    const reads = provisioning.groupReads;
    await registry.lookup('fleet', 'late1');
    expect(provisioning.groupReads).toBe(reads);
    registry.invalidate();
    await registry.lookup('fleet', 'late2');
    expect(provisioning.groupReads).toBe(reads + 1);
  });

  test('a device provisioned with a new group by another process gets that group, though the groups read before lacked it', async () => {
    const registry = new DeviceRegistry(provisioning, new ModelCatalog(), 60_000);
    await expect(registry.lookup('later', 'probe')).rejects.toMatchObject({ reason: 'unknown_apikey' });
    // Another agent process provisions the group and a device of it.
    await provisioning.createGroups([{ service: 'city', subservice: '/later', resource: '/iot/d', apikey: 'later', body: { entity_type: 'Meter' } }]);
    await provisioning.createDevices([{ service: 'city', subservice: '/later', deviceId: 'm1', apikey: 'later', entityName: 'urn:ngsi-ld:Meter:m1', body: { device_id: 'm1' } }]);
    expect((await registry.lookup('later', 'm1')).entityType).toBe('Meter');
  });

  test('devices provisioned on their own, under a key whose groups lie elsewhere, do not read the groups again one by one', async () => {
    await provisioning.createGroups([{ service: 'city', subservice: '/north', resource: '/iot/d', apikey: 'shared', body: { entity_type: 'Gauge' } }]);
    const loose = Array.from({ length: 20 }, (_, i) => `loose${i}`);
    await provisioning.createDevices(
      loose.map((id) => ({ service: 'city', subservice: '/south', deviceId: id, apikey: 'shared', entityName: `urn:ngsi-ld:Gauge:${id}`, body: { device_id: id, entity_type: 'Gauge' } })),
    );
    const registry = new DeviceRegistry(provisioning, new ModelCatalog(), 60_000);
    const reads = provisioning.groupReads;
    for (const id of loose) expect((await registry.lookup('shared', id)).entityId).toBe(`urn:ngsi-ld:Gauge:${id}`);
    // The first read, and one more for the first device whose group it lacked; not one per device.
    expect(provisioning.groupReads - reads).toBe(2);
  });

  test('a profile past its time answers at once while it is read again in the background', async () => {
    const registry = new DeviceRegistry(provisioning, new ModelCatalog(), 1);
    const first = await registry.lookup('fleet', 'stale0');
    await pause(5);
    const reads = provisioning.deviceReads;
    expect(await registry.lookup('fleet', 'stale0')).toBe(first);
    // What the background read found answers from then on.
    for (let waited = 0; (await registry.lookup('fleet', 'stale0')) === first && waited < 2_000; waited += 1) await pause(1);
    expect(provisioning.deviceReads).toBeGreaterThan(reads);
    expect(await registry.lookup('fleet', 'stale0')).not.toBe(first);
    expect(await registry.lookup('fleet', 'stale0')).toEqual(first);
  });

  test('an unknown device is asked for again once its answer expired, before a message of it is dropped', async () => {
    const registry = new DeviceRegistry(provisioning, new ModelCatalog(), 1);
    await expect(registry.lookup('soon', 'g1')).rejects.toMatchObject({ reason: 'unknown_apikey' });
    await provisioning.createGroups([{ service: 'city', subservice: '/soon', resource: '/iot/d', apikey: 'soon', body: { entity_type: 'Gauge', autoprovision: true } }]);
    await pause(5);
    expect((await registry.lookup('soon', 'g1')).entityType).toBe('Gauge');
  });

  test('the groups read expire with the registry entries', async () => {
    const registry = new DeviceRegistry(provisioning, new ModelCatalog(), 1);
    await registry.lookup('fleet', 'brief0');
    const reads = provisioning.groupReads;
    await new Promise((r) => setTimeout(r, 5));
    await registry.lookup('fleet', 'brief1');
    expect(provisioning.groupReads).toBe(reads + 1);
  });
});
