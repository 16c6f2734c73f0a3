/** Device traffic over MQTT (the embedded broker and Mosquitto) and HTTP, through the agent into the broker's entities. */
import { eventually } from '../support/receiver';
import { AgentHarness, describeAgentOnEachStore, uniqueKey } from '../support/iotAgent';

const TENANT = { 'NGSILD-Tenant': 'smartcity' };

async function provision(h: AgentHarness, group: Record<string, unknown> = {}, device?: Record<string, unknown>) {
  const apikey = uniqueKey();
  const deviceId = uniqueKey('dev');
  await h.iot('POST', '/iot/services', {
    services: [{ apikey, resource: '/iot/d', entity_type: 'Thermometer', attributes: [{ object_id: 't', name: 'temperature', type: 'Number' }], ...group }],
  });
  if (device !== undefined) expect((await h.iot('POST', '/iot/devices', { devices: [{ device_id: deviceId, ...device }] })).status).toBe(201);
  return { apikey, deviceId, entityId: `urn:ngsi-ld:Thermometer:${deviceId}` };
}

async function entity(h: AgentHarness, id: string, check: (e: any) => void): Promise<any> {
  return eventually(async () => {
    const res = await h.client.get(`/entities/${encodeURIComponent(id)}`, { headers: TENANT });
    expect(res.status).toBe(200);
    check(res.body);
    return res.body;
  });
}

async function dropped(h: AgentHarness, reason: string, atLeast: number): Promise<void> {
  await eventually(async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${h.agent.northPort}/metrics`)).text();
    const line = metrics.split('\n').find((l) => l.startsWith(`civitas_iota_dropped_total{reason="${reason}"}`));
    expect(Number(line?.split(' ')[1] ?? 0)).toBeGreaterThanOrEqual(atLeast);
  });
}

function southboundSuite(h: () => AgentHarness) {
  it('turns an UltraLight MQTT measure into the entity, typed and with observedAt', async () => {
    const { apikey, deviceId, entityId } = await provision(h(), {}, {});
    await h().publish(`/${apikey}/${deviceId}/attrs`, 't|21.5|h|40');
    const e = await entity(h(), entityId, (e) => expect(e.temperature?.value).toBe(21.5));
    expect(e.type).toBe('Thermometer');
    expect(e.h).toMatchObject({ type: 'Property', value: '40' });
    expect(Date.parse(e.temperature.observedAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('reads every FIWARE topic layout: protocol prefixes, no leading slash, single attributes', async () => {
    const { apikey, deviceId, entityId } = await provision(h(), {}, {});
    await h().publish(`/ul/${apikey}/${deviceId}/attrs`, 't|1');
    await entity(h(), entityId, (e) => expect(e.temperature.value).toBe(1));
    await h().publish(`/json/${apikey}/${deviceId}/attrs`, JSON.stringify({ t: 2, mode: 'eco' }));
    await entity(h(), entityId, (e) => expect([e.temperature.value, e.mode?.value]).toEqual([2, 'eco']));
    await h().publish(`${apikey}/${deviceId}/attrs`, 't|3');
    await entity(h(), entityId, (e) => expect(e.temperature.value).toBe(3));
    await h().publish(`/${apikey}/${deviceId}/attrs/t`, '4');
    await entity(h(), entityId, (e) => expect(e.temperature.value).toBe(4));
    await h().publish(`/json/${apikey}/${deviceId}/attrs/t`, '5');
    await entity(h(), entityId, (e) => expect(e.temperature.value).toBe(5));
  });

  it('keeps each measure group of one message as its own instance in the history', async () => {
    const { apikey, deviceId, entityId } = await provision(h(), {}, {});
    await h().publish(`/${apikey}/${deviceId}/attrs`, '2026-01-01T10:00:00Z|t|10#2026-01-01T10:01:00Z|t|11#2026-01-01T10:02:00Z|t|12');
    await entity(h(), entityId, (e) => expect(e.temperature.value).toBe(12));
    const history = await eventually(async () => {
      const res = await h().client.get(`/temporal/entities/${encodeURIComponent(entityId)}?attrs=temperature&options=temporalValues`, { headers: TENANT });
      expect(res.body.temperature.values).toHaveLength(3);
      return res.body.temperature.values;
    });
    expect(history).toEqual([
      [10, '2026-01-01T10:00:00.000Z'],
      [11, '2026-01-01T10:01:00.000Z'],
      [12, '2026-01-01T10:02:00.000Z'],
    ]);
  });

  it('autoprovisions an unknown device where its group allows it, and drops it where not', async () => {
    const open = await provision(h());
    await h().publish(`/${open.apikey}/${open.deviceId}/attrs`, 't|7');
    await entity(h(), open.entityId, (e) => expect(e.temperature.value).toBe(7));
    expect((await h().iot('GET', `/iot/devices/${open.deviceId}`)).body).toMatchObject({ device_id: open.deviceId, entity_name: open.entityId });

    const closed = await provision(h(), { autoprovision: false });
    await h().publish(`/${closed.apikey}/${closed.deviceId}/attrs`, 't|7');
    await dropped(h(), 'unknown_device', 1);
    expect((await h().client.get(`/entities/${encodeURIComponent(closed.entityId)}`, { headers: TENANT })).status).toBe(404);
    expect(h().errors.some((e) => e.includes(closed.deviceId) && e.includes('unknown_device'))).toBe(true);
  });

  it('drops what it cannot use, says why, counts it, and goes on', async () => {
    const { apikey, deviceId, entityId } = await provision(h(), {}, {});
    await h().publish(`/${uniqueKey('nokey')}/${deviceId}/attrs`, 't|1');
    await dropped(h(), 'unknown_apikey', 1);
    await h().publish(`/${apikey}/${deviceId}/attrs`, 't|1|h');
    await dropped(h(), 'invalid_payload', 1);
    await h().publish(`/json/${apikey}/${deviceId}/attrs`, '{"t": ');
    await dropped(h(), 'invalid_payload', 2);
    await h().publish(`/${apikey}/${deviceId}/attrs`, 't|warm');
    await dropped(h(), 'invalid_value', 1);
    await h().publish(`/${apikey}/${deviceId}/attrs`, `t|${'9'.repeat(70 * 1024)}`);
    await dropped(h(), 'payload_too_large', 1);
    await h().publish(`/${apikey}/${deviceId}/attrs`, 't|8');
    await entity(h(), entityId, (e) => expect(e.temperature.value).toBe(8));
  });

  it('takes UltraLight and JSON over HTTP, with t as the observation time', async () => {
    const { apikey, deviceId, entityId } = await provision(h(), {}, {});
    expect((await h().south('POST', `/iot/d?k=${apikey}&i=${deviceId}`, 't|30')).status).toBe(200);
    await entity(h(), entityId, (e) => expect(e.temperature.value).toBe(30));
    expect((await h().south('GET', `/iot/d?k=${apikey}&i=${deviceId}&d=t|31&t=2026-02-02T02:02:02Z`)).status).toBe(200);
    await entity(h(), entityId, (e) => expect(e.temperature).toMatchObject({ value: 31, observedAt: '2026-02-02T02:02:02.000Z' }));
    expect((await h().south('POST', `/iot/json?k=${apikey}&i=${deviceId}`, JSON.stringify([{ t: 32 }, { t: 33 }]), 'application/json')).status).toBe(200);
    await entity(h(), entityId, (e) => expect(e.temperature.value).toBe(33));
  });

  it('answers bad HTTP device requests with an error and writes nothing', async () => {
    const { apikey, deviceId } = await provision(h(), { autoprovision: false });
    expect((await h().south('POST', `/iot/d?i=${deviceId}`, 't|1')).status).toBe(400);
    expect((await h().south('POST', `/iot/d?k=${uniqueKey('nokey')}&i=${deviceId}`, 't|1')).status).toBe(404);
    expect((await h().south('POST', `/iot/d?k=${apikey}&i=${deviceId}`, 't|1')).status).toBe(404);
    const bad = await h().south('POST', `/iot/json?k=${apikey}&i=${deviceId}`, '{"t": ', 'application/json');
    expect(bad.status).toBe(404); // an unprovisioned device is found out before its payload is read
    const known = await provision(h(), {}, {});
    const malformed = await h().south('POST', `/iot/json?k=${known.apikey}&i=${known.deviceId}`, '[1, 2]', 'application/json');
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.text)).toMatchObject({ name: 'INVALID_PAYLOAD' });
    expect((await h().south('POST', `/iot/d?k=${known.apikey}&i=${known.deviceId}&t=yesterday`, 't|1')).status).toBe(400);
    expect((await h().client.get(`/entities/${encodeURIComponent(known.entityId)}`, { headers: TENANT })).status).toBe(404);
  });
}

describeAgentOnEachStore('IoT agent southbound', southboundSuite, { mqtt: 'embedded' });
describeAgentOnEachStore('IoT agent southbound', southboundSuite, { mqtt: 'mosquitto' });
describeAgentOnEachStore('IoT agent southbound', southboundSuite, { mqtt: 'in-process' });
