/** Commands: an NGSI-LD update of a command attribute reaches the device (MQTT, HTTP push, polling) and its result the entity. */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually } from '../support/receiver';
import { AgentHarness, describeAgentOnEachStore, uniqueKey } from '../support/iotAgent';

const TENANT = { 'NGSILD-Tenant': 'smartcity' };

async function status(h: AgentHarness, id: string, command: string, expected: string, info?: unknown): Promise<void> {
  await eventually(async () => {
    const e = (await h.client.get(`/entities/${encodeURIComponent(id)}?options=keyValues`, { headers: TENANT })).body;
    expect(e[`${command}_status`]).toBe(expected);
    if (info !== undefined) expect(e[`${command}_info`]).toEqual(info);
  });
}

/** Sends the command the way a city application does: an NGSI-LD update of the command attribute. */
async function send(h: AgentHarness, id: string, command: string, value: unknown): Promise<void> {
  // The entity and its command attribute exist once provisioning has set them up.
  await eventually(async () => {
    const res = await h.client.get(`/entities/${encodeURIComponent(id)}`, { headers: TENANT });
    expect(res.body?.[command]).toBeDefined();
  });
  const res = await h.client.patch(`/entities/${encodeURIComponent(id)}/attrs/${command}`, { type: 'Property', value }, { headers: TENANT });
  expect(res.status).toBe(204);
}

function commandsSuite(h: () => AgentHarness): void {
  it('publishes an UltraLight command on MQTT and records the result from cmdexe', async () => {
    const apikey = uniqueKey();
    const deviceId = uniqueKey('bell');
    const entityId = `urn:ngsi-ld:Bell:${deviceId}`;
    await h().iot('POST', '/iot/services', { services: [{ apikey, resource: '/iot/d', entity_type: 'Bell' }] });
    expect((await h().iot('POST', '/iot/devices', { devices: [{ device_id: deviceId, entity_type: 'Bell', transport: 'MQTT', commands: [{ name: 'ring', type: 'command' }] }] })).status).toBe(201);
    await status(h(), entityId, 'ring', 'UNKNOWN');

    const device = await h().device(`/${apikey}/${deviceId}/cmd`);
    const received = device.next();
    await send(h(), entityId, 'ring', 'loud');
    expect(await received).toEqual({ topic: `/${apikey}/${deviceId}/cmd`, payload: `${deviceId}@ring|loud` });
    await status(h(), entityId, 'ring', 'PENDING');

    await h().publish(`/${apikey}/${deviceId}/cmdexe`, `${deviceId}@ring|rang twice`);
    await status(h(), entityId, 'ring', 'OK', 'rang twice');
  });

  it('sends JSON commands to an autoprovisioned device of a group with commands', async () => {
    const apikey = uniqueKey();
    const deviceId = uniqueKey('lamp');
    const entityId = `urn:ngsi-ld:Lamp:${deviceId}`;
    await h().iot('POST', '/iot/services', { services: [{ apikey, resource: '/iot/json', entity_type: 'Lamp', commands: [{ name: 'switch', type: 'command' }] }] });
    await h().publish(`/json/${apikey}/${deviceId}/attrs`, JSON.stringify({ power: 12 }));
    const device = await h().device(`/${apikey}/${deviceId}/cmd`);
    const received = device.next();
    await send(h(), entityId, 'switch', 'on');
    expect(JSON.parse((await received).payload)).toEqual({ switch: 'on' });
    await h().publish(`/json/${apikey}/${deviceId}/cmdexe`, JSON.stringify({ switch: 'switched on' }));
    await status(h(), entityId, 'switch', 'OK', 'switched on');
  });

  it('POSTs a command to an HTTP device endpoint and records its answer, or the failure', async () => {
    const bodies: string[] = [];
    const deviceId = uniqueKey('valve');
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (d) => (text += d));
      req.on('end', () => {
        bodies.push(text);
        if (text.includes('jam')) res.writeHead(500).end('stuck');
        else res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`${deviceId}@open|opened 40%`);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/command`;
      const entityId = `urn:ngsi-ld:Valve:${deviceId}`;
      await h().iot('POST', '/iot/services', { services: [{ apikey: uniqueKey(), resource: '/iot/d', entity_type: 'Valve' }] });
      await h().iot('POST', '/iot/devices', { devices: [{ device_id: deviceId, entity_type: 'Valve', transport: 'HTTP', endpoint, commands: [{ name: 'open' }, { name: 'jam' }] }] });
      await send(h(), entityId, 'open', { percent: 40 });
      await status(h(), entityId, 'open', 'OK', 'opened 40%');
      expect(bodies[0]).toBe(`${deviceId}@open|percent=40`);
      await send(h(), entityId, 'jam', 'now');
      await status(h(), entityId, 'jam', 'ERROR');
    } finally {
      server.close();
    }
  });

  it('keeps commands for a polling device until it asks for them', async () => {
    const apikey = uniqueKey();
    const deviceId = uniqueKey('meter');
    const entityId = `urn:ngsi-ld:Meter:${deviceId}`;
    await h().iot('POST', '/iot/services', { services: [{ apikey, resource: '/iot/d', entity_type: 'Meter' }] });
    await h().iot('POST', '/iot/devices', { devices: [{ device_id: deviceId, entity_type: 'Meter', transport: 'HTTP', commands: [{ name: 'reset' }] }] });
    await send(h(), entityId, 'reset', 'all');
    await status(h(), entityId, 'reset', 'PENDING');

    const first = await h().south('GET', `/iot/d?k=${apikey}&i=${deviceId}&d=v|1&getCmd=1`);
    expect(first).toEqual({ status: 200, text: `${deviceId}@reset|all` });
    await status(h(), entityId, 'reset', 'DELIVERED');
    expect((await h().south('GET', `/iot/d?k=${apikey}&i=${deviceId}&d=v|2&getCmd=1`)).text).toBe('');

    expect((await h().south('POST', `/iot/d?k=${apikey}&i=${deviceId}`, `${deviceId}@reset|done`)).status).toBe(200);
    await status(h(), entityId, 'reset', 'OK', 'done');
  });

  it('takes commands only from notifications of its own subscriptions', async () => {
    const sent = h().agent.metrics.commandsSent;
    const res = await fetch(`http://127.0.0.1:${h().agent.northPort}/notify?service=smartcity`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ subscriptionId: 'urn:ngsi-ld:Subscription:someone-else', data: [{ id: 'urn:ngsi-ld:Bell:x', type: 'Bell', ring: { type: 'Property', value: 1 } }] }),
    });
    expect(res.status).toBe(400);
    expect(h().agent.metrics.commandsSent).toBe(sent);
  });

  it('drops a result for a command the device does not have', async () => {
    const apikey = uniqueKey();
    const deviceId = uniqueKey('dev');
    await h().iot('POST', '/iot/services', { services: [{ apikey, resource: '/iot/d' }] });
    await h().iot('POST', '/iot/devices', { devices: [{ device_id: deviceId }] });
    await h().publish(`/${apikey}/${deviceId}/cmdexe`, `${deviceId}@selfdestruct|done`);
    await eventually(async () => expect(h().agent.metrics.dropped.get('unknown_command')).toBe(1));
  });
}

describeAgentOnEachStore('IoT agent commands', commandsSuite);
// All-in-one: the agent attached to the embedded broker of its process publishes commands without a client connection.
describeAgentOnEachStore('IoT agent commands', commandsSuite, { mqtt: 'in-process' });
