/**
 * The all-in-one path from devices to entities: the agent hands its batch
 * upserts to the broker of its process directly. It must accept, refuse and
 * retry exactly what the HTTP API would.
 */
import { InProcessEntitySink } from '@civitas/iot-agent';
import { eventually } from '../support/receiver';
import { AgentHarness, describeAgentOnEachStore, SERVICE_HEADERS, uniqueKey } from '../support/iotAgent';

const TENANT = { 'NGSILD-Tenant': SERVICE_HEADERS['fiware-service'] };

async function provision(h: AgentHarness, attributes: unknown[], device: Record<string, unknown> = {}) {
  const apikey = uniqueKey();
  const deviceId = uniqueKey('dev');
  expect((await h.iot('POST', '/iot/services', { services: [{ apikey, resource: '/iot/d', entity_type: 'Meter', attributes }] })).status).toBe(201);
  expect((await h.iot('POST', '/iot/devices', { devices: [{ device_id: deviceId, ...device }] })).status).toBe(201);
  return { apikey, deviceId, entityId: `urn:ngsi-ld:Meter:${deviceId}` };
}

async function droppedCount(h: AgentHarness, reason: string): Promise<number> {
  const metrics = await (await fetch(`http://127.0.0.1:${h.agent.northPort}/metrics`)).text();
  const line = metrics.split('\n').find((l) => l.startsWith(`civitas_iota_dropped_total{reason="${reason}"}`));
  return Number(line?.split(' ')[1] ?? 0);
}

describeAgentOnEachStore(
  'IoT agent writing to the broker in its process',
  (h) => {
    it('updates only the attributes measured, keeps the others, and records each measure in the history', async () => {
      const { apikey, deviceId, entityId } = await provision(h(), [{ object_id: 'p', name: 'power', type: 'Number' }], {
        static_attributes: [{ name: 'site', type: 'Text', value: 'depot' }],
      });
      await h().publish(`/${apikey}/${deviceId}/attrs`, 'p|10');
      await eventually(async () => expect((await h().client.get(`/entities/${entityId}`, { headers: TENANT })).body.power?.value).toBe(10));
      await h().publish(`/${apikey}/${deviceId}/attrs`, 'p|11');
      const entity = await eventually(async () => {
        const res = await h().client.get(`/entities/${entityId}`, { headers: TENANT });
        expect(res.body.power.value).toBe(11);
        return res.body;
      });
      expect(entity.site).toMatchObject({ type: 'Property', value: 'depot' });
      const history = await h().client.get(`/temporal/entities/${entityId}?attrs=power&options=temporalValues`, { headers: TENANT });
      expect(history.body.power.values.map((v: [number, string]) => v[0])).toEqual([10, 11]);
    });

    it('an entity the broker refuses is dropped with its reason and counted; the others of its batch are written', async () => {
      const refused = await provision(h(), [{ object_id: 'o', name: 'owner', type: 'Relationship' }]);
      const accepted = await provision(h(), [{ object_id: 'p', name: 'power', type: 'Number' }]);
      const before = await droppedCount(h(), 'rejected_by_broker');
      await Promise.all([h().publish(`/${refused.apikey}/${refused.deviceId}/attrs`, 'o|not a uri'), h().publish(`/${accepted.apikey}/${accepted.deviceId}/attrs`, 'p|5')]);
      await eventually(async () => expect(await droppedCount(h(), 'rejected_by_broker')).toBe(before + 1));
      expect(h().errors.some((e) => e.includes(refused.entityId))).toBe(true);
      await eventually(async () => expect((await h().client.get(`/entities/${accepted.entityId}`, { headers: TENANT })).body.power?.value).toBe(5));
      expect((await h().client.get(`/entities/${refused.entityId}`, { headers: TENANT })).status).toBe(404);
    });

    it('refuses a whole batch the API would answer with a 4xx, and reports a failure worth retrying as unavailable', async () => {
      const sink = new InProcessEntitySink((request) => h().broker.upsertEntities(request));
      const entity = { id: `urn:ngsi-ld:Meter:${uniqueKey('direct')}`, type: 'Meter', power: { type: 'Property', value: 1 } };
      const badTenant = await sink.upsert('not a tenant!', undefined, [entity]);
      expect(badTenant.rejected).toEqual([{ id: entity.id, reason: expect.stringContaining('400') }]);
      // A context that cannot be fetched is the broker's trouble (503), not the batch's: it is retried later.
      await expect(sink.upsert(TENANT['NGSILD-Tenant'], 'http://127.0.0.1:9/unreachable.jsonld', [entity])).rejects.toThrow(/Broker failed/);
      expect((await h().client.get(`/entities/${entity.id}`, { headers: TENANT })).status).toBe(404);
      expect(await sink.upsert(TENANT['NGSILD-Tenant'], undefined, [entity])).toEqual({ rejected: [] });
      expect((await h().client.get(`/entities/${entity.id}`, { headers: TENANT })).body.power.value).toBe(1);
    });
  },
  { sink: 'in-process', mqtt: 'in-process' },
);
