/** The FIWARE provisioning API: the same bodies, status codes and error shapes as FIWARE's agents. */
import { eventually } from '../support/receiver';
import { describeAgentOnEachStore, SERVICE_HEADERS, uniqueKey } from '../support/iotAgent';

describeAgentOnEachStore('IoT agent provisioning API', (h) => {
  it('creates, lists, updates and deletes config groups', async () => {
    const apikey = uniqueKey();
    const group = {
      apikey,
      resource: '/iot/d',
      entity_type: 'Thermometer',
      attributes: [{ object_id: 't', name: 'temperature', type: 'Number', metadata: { unitCode: { type: 'Text', value: 'CEL' } } }],
      lazy: [{ object_id: 'b', name: 'batteryLevel', type: 'Number' }],
      static_attributes: [{ name: 'floor', type: 'Integer', value: 2 }],
    };
    expect(await h().iot('POST', '/iot/services', { services: [group] })).toEqual({ status: 201, body: {} });
    expect((await h().iot('POST', '/iot/services', { services: [group] })).body).toMatchObject({ name: 'DUPLICATE_GROUP' });

    const listed = await h().iot('GET', '/iot/services');
    expect(listed.status).toBe(200);
    const mine = listed.body.services.find((s: { apikey: string }) => s.apikey === apikey);
    expect(mine).toMatchObject({ ...group, service: 'smartcity', subservice: '/test' });
    expect(listed.body.count).toBeGreaterThanOrEqual(1);

    const other = await h().iot('GET', '/iot/services', undefined, { 'fiware-service': 'smartcity', 'fiware-servicepath': '/elsewhere' });
    expect(other.body.services.find((s: { apikey: string }) => s.apikey === apikey)).toBeUndefined();
    const all = await h().iot('GET', '/iot/services', undefined, { 'fiware-service': 'smartcity', 'fiware-servicepath': '/*' });
    expect(all.body.services.find((s: { apikey: string }) => s.apikey === apikey)).toBeDefined();

    expect((await h().iot('PUT', `/iot/services?resource=/iot/d&apikey=${apikey}`, { entity_type: 'Sensor' })).status).toBe(204);
    const updated = (await h().iot('GET', '/iot/services')).body.services.find((s: { apikey: string }) => s.apikey === apikey);
    expect(updated).toMatchObject({ entity_type: 'Sensor', attributes: group.attributes });

    expect((await h().iot('PUT', '/iot/services?resource=/iot/d&apikey=nosuchkey', { entity_type: 'X' })).body).toMatchObject({ name: 'DEVICE_GROUP_NOT_FOUND' });
    expect((await h().iot('DELETE', `/iot/services?resource=/iot/d&apikey=${apikey}`)).status).toBe(204);
    expect((await h().iot('DELETE', `/iot/services?resource=/iot/d&apikey=${apikey}`)).status).toBe(404);
  });

  it('creates, reads, lists, updates and deletes devices', async () => {
    const id = uniqueKey('dev');
    const device = {
      device_id: id,
      entity_name: `urn:ngsi-ld:Thermometer:${id}`,
      entity_type: 'Thermometer',
      protocol: 'PDI-IoTA-UltraLight',
      transport: 'MQTT',
      attributes: [{ object_id: 't', name: 'temperature', type: 'Number' }],
      // Kept and given back, as FIWARE's UltraLight and JSON agents do; neither asks devices for them.
      lazy: [{ object_id: 'b', name: 'batteryLevel', type: 'Number' }],
    };
    expect(await h().iot('POST', '/iot/devices', { devices: [device] })).toEqual({ status: 201, body: {} });
    const duplicate = await h().iot('POST', '/iot/devices', { devices: [device] });
    expect(duplicate).toMatchObject({ status: 409, body: { name: 'DUPLICATE_DEVICE_ID' } });

    const got = await h().iot('GET', `/iot/devices/${id}`);
    expect(got).toMatchObject({ status: 200, body: { ...device, service: 'smartcity', service_path: '/test' } });
    const listed = await h().iot('GET', '/iot/devices?limit=1000');
    expect(listed.body.devices.map((d: { device_id: string }) => d.device_id)).toContain(id);
    expect(listed.body.count).toBe(listed.body.devices.length);
    const page = await h().iot('GET', '/iot/devices?limit=1&offset=0');
    expect(page.body.devices).toHaveLength(1);

    expect((await h().iot('PUT', `/iot/devices/${id}`, { attributes: [{ object_id: 'h', name: 'humidity', type: 'Number' }] })).status).toBe(204);
    expect((await h().iot('GET', `/iot/devices/${id}`)).body.attributes).toEqual([{ object_id: 'h', name: 'humidity', type: 'Number' }]);
    expect((await h().iot('PUT', `/iot/devices/${id}`, { device_id: 'other' })).status).toBe(400);

    expect((await h().iot('DELETE', `/iot/devices/${id}`)).status).toBe(204);
    expect(await h().iot('GET', `/iot/devices/${id}`)).toMatchObject({ status: 404, body: { name: 'DEVICE_NOT_FOUND' } });
    expect((await h().iot('DELETE', `/iot/devices/${id}`)).status).toBe(404);
  });

  it('gives a device without entity_name the id urn:ngsi-ld:{type}:{device_id}, or its group entityNameExp', async () => {
    const plain = uniqueKey('dev');
    await h().iot('POST', '/iot/devices', { devices: [{ device_id: plain, entity_type: 'Meter' }] });
    expect((await h().iot('GET', `/iot/devices/${plain}`)).body.entity_name).toBe(`urn:ngsi-ld:Meter:${plain}`);

    const headers = { 'fiware-service': 'smartcity', 'fiware-servicepath': `/${uniqueKey('p')}` };
    await h().iot('POST', '/iot/services', { services: [{ apikey: uniqueKey(), resource: '/iot/d', entity_type: 'Meter', entityNameExp: "'urn:ngsi-ld:Meter:city-' + id" }] }, headers);
    const named = uniqueKey('dev');
    await h().iot('POST', '/iot/devices', { devices: [{ device_id: named }] }, headers);
    expect((await h().iot('GET', `/iot/devices/${named}`, undefined, headers)).body.entity_name).toBe(`urn:ngsi-ld:Meter:city-${named}`);
  });

  it('pairs a device without an API key with the group of its entity type among several in its service path', async () => {
    const headers = { 'fiware-service': 'smartcity', 'fiware-servicepath': `/${uniqueKey('p')}` };
    const [a, b] = [uniqueKey(), uniqueKey()];
    await h().iot('POST', '/iot/services', { services: [{ apikey: a, resource: '/iot/d', entity_type: 'Alpha' }, { apikey: b, resource: '/iot/d', entity_type: 'Beta', static_attributes: [{ name: 'kind', type: 'Text', value: 'beta' }] }] }, headers);
    const id = uniqueKey('dev');
    await h().iot('POST', '/iot/devices', { devices: [{ device_id: id, entity_type: 'Beta' }] }, headers);
    expect((await h().iot('GET', `/iot/devices/${id}`, undefined, headers)).body.entity_name).toBe(`urn:ngsi-ld:Beta:${id}`);
    await h().publish(`/${b}/${id}/attrs`, 'x|1');
    await eventually(async () => {
      const e = (await h().client.get(`/entities/urn:ngsi-ld:Beta:${id}?options=keyValues`, { headers: { 'NGSILD-Tenant': 'smartcity' } })).body;
      expect(e).toMatchObject({ type: 'Beta', kind: 'beta', x: '1' });
    });
  });

  it('keeps services apart', async () => {
    const id = uniqueKey('dev');
    await h().iot('POST', '/iot/devices', { devices: [{ device_id: id }] });
    expect((await h().iot('GET', `/iot/devices/${id}`, undefined, { 'fiware-service': 'othercity', 'fiware-servicepath': '/test' })).status).toBe(404);
  });

  it('refuses bad requests with FIWARE errors and stores nothing', async () => {
    const missing = await h().iot('GET', '/iot/devices', undefined, { 'fiware-service': 'smartcity' });
    expect(missing).toMatchObject({ status: 400, body: { name: 'MISSING_HEADERS' } });
    expect((await h().iot('POST', '/iot/devices', '{"devices": [', SERVICE_HEADERS)).body).toMatchObject({ name: 'WRONG_SYNTAX' });
    expect((await h().iot('POST', '/iot/devices', { devices: [{ entity_type: 'X' }] })).body).toMatchObject({ name: 'WRONG_SYNTAX' });
    expect((await h().iot('POST', '/iot/devices', { devices: [{ device_id: 'a/b' }] })).status).toBe(400);
    expect((await h().iot('POST', '/iot/services', { services: [{ resource: '/iot/d' }] })).body).toMatchObject({ name: 'WRONG_SYNTAX' });
    const badExpression = await h().iot('POST', '/iot/services', { services: [{ apikey: uniqueKey(), attributes: [{ object_id: 'a', name: 'a', expression: 'a +* 2' }] }] });
    expect(badExpression).toMatchObject({ status: 400, body: { name: 'WRONG_SYNTAX' } });
    const badModel = await h().iot('POST', '/iot/services', { services: [{ apikey: uniqueKey(), model: 'NoSuchModel' }] });
    expect(badModel.status).toBe(400);
    expect(badModel.body.message).toMatch(/NoSuchModel/);
    expect((await h().iot('PUT', '/iot/services?resource=/iot/d', {})).body).toMatchObject({ name: 'MISSING_CONFIG_PARAMS' });

    // One bad device in a batch: none of them is stored.
    const good = uniqueKey('dev');
    const mixed = await h().iot('POST', '/iot/devices', { devices: [{ device_id: good }, { device_id: good }] });
    expect(mixed.status).toBe(409);
    expect((await h().iot('GET', `/iot/devices/${good}`)).status).toBe(404);
  });

  it('answers /iot/about and /health', async () => {
    expect((await h().iot('GET', '/iot/about')).body).toMatchObject({ port: String(h().agent.northPort), baseRoot: '/' });
    expect((await h().iot('GET', '/health')).body).toMatchObject({ status: 'ok', mqtt: 'connected' });
  });
});
