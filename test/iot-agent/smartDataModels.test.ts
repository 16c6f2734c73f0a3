/**
 * The shipped example config groups, one per Smart Data Model: provisioned
 * through the FIWARE API, fed their sample device payload, and the entity
 * read back (with the model's @context) validates against the model.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelCatalog } from '@civitas/iot-agent';
import { eventually } from '../support/receiver';
import { describeAgentOnEachStore } from '../support/iotAgent';

const EXAMPLES = join(__dirname, '..', '..', 'examples', 'config-groups');
const models = new ModelCatalog();

interface Example {
  'fiware-service': string;
  'fiware-servicepath': string;
  services: Array<{ apikey: string; model: string; attributes: Array<{ name: string }> }>;
  devices: Array<{ device_id: string }>;
  sample: { codec: 'ul' | 'json'; payload: unknown };
}

const examples = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ name: f.replace('.json', ''), example: JSON.parse(readFileSync(join(EXAMPLES, f), 'utf8')) as Example }));

describeAgentOnEachStore('Smart Data Models examples', (h) => {
  it('covers every model the agent ships', () => {
    expect(examples.map((e) => e.name).sort()).toEqual(models.names().sort());
  });

  it.each(examples)('$name: the sample becomes an entity that follows the model', async ({ name, example }) => {
    const headers = { 'fiware-service': example['fiware-service'], 'fiware-servicepath': example['fiware-servicepath'] };
    // Each run gets its own keys and ids, so that both stores' runs (and Mosquitto's other users) stay apart.
    const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const group = { ...example.services[0], apikey: `${example.services[0].apikey}-${suffix}` };
    const device = { ...example.devices[0], apikey: group.apikey, device_id: `${example.devices[0].device_id}-${suffix}` };
    expect((await h().iot('POST', '/iot/services', { services: [group] }, headers)).status).toBe(201);
    expect((await h().iot('POST', '/iot/devices', { devices: [device] }, headers)).status).toBe(201);

    const payload = typeof example.sample.payload === 'string' ? example.sample.payload : JSON.stringify(example.sample.payload);
    await h().publish(`/${example.sample.codec}/${group.apikey}/${device.device_id}/attrs`, payload);

    const entityId = `urn:ngsi-ld:${name}:${device.device_id}`;
    const context = `http://127.0.0.1:${h().agent.northPort}/ontologies/smart-data-models/${name}.jsonld`;
    const link = `<${context}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`;
    const entity = await eventually(async () => {
      const res = await h().client.get(`/entities/${encodeURIComponent(entityId)}?options=keyValues`, { headers: { 'NGSILD-Tenant': example['fiware-service'], Link: link } });
      expect(res.status).toBe(200);
      // The entity exists from provisioning (static attributes) before the sample lands: wait for every measured attribute.
      for (const a of group.attributes) expect(res.body).toHaveProperty(a.name);
      return res.body;
    });
    expect(entity.type).toBe(name);
    const { '@context': _context, ...stored } = entity;
    // Key-values keep NGSI-LD's typed date-times; the models describe them as plain ISO 8601 strings.
    const keyValues = Object.fromEntries(Object.entries(stored).map(([k, v]) => [k, (v as { '@type'?: string; '@value'?: unknown })?.['@type'] === 'DateTime' ? (v as { '@value': unknown })['@value'] : v]));
    // Attribute names come back short with the model's @context: the agent wrote them with it.
    expect(Object.keys(keyValues).every((k) => !k.includes('/'))).toBe(true);
    expect(models.get(name)!.validate(keyValues)).toBeUndefined();
    expect(h().agent.metrics.dropped.get('schema_violation') ?? 0).toBe(0);
  });

  it('drops a measure that breaks its model, and says which rule', async () => {
    const example = examples.find((e) => e.name === 'AirQualityObserved')!.example;
    const headers = { 'fiware-service': example['fiware-service'], 'fiware-servicepath': example['fiware-servicepath'] };
    const apikey = `aq-bad-${Date.now().toString(36)}`;
    await h().iot('POST', '/iot/services', { services: [{ ...example.services[0], apikey }] }, headers);
    await h().iot('POST', '/iot/devices', { devices: [{ ...example.devices[0], apikey, device_id: `${apikey}-d` }] }, headers);
    await h().publish(`/ul/${apikey}/${apikey}-d/attrs`, 'no2|-4');
    await eventually(async () => expect(h().agent.metrics.dropped.get('schema_violation')).toBe(1));
    expect(h().errors.find((e) => e.includes('schema_violation'))).toMatch(/no2 must be >= 0/);
  });
});
