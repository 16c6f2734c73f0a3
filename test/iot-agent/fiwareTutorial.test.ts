/**
 * The traffic of FIWARE's "IoT Agent" step-by-step tutorial (NGSI-LD flavour),
 * sent unchanged: its provisioning bodies and headers, its devices' UltraLight
 * over HTTP, and a command sent as an NGSI-LD PATCH to an HTTP device.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually } from '../support/receiver';
import { describeAgentOnEachStore } from '../support/iotAgent';

const HEADERS = { 'fiware-service': 'openiot', 'fiware-servicepath': '/' };
const TENANT = { 'NGSILD-Tenant': 'openiot' };

describeAgentOnEachStore('FIWARE IoT Agent tutorial traffic', (h) => {
  it('provisions, measures and commands the way the tutorial does', async () => {
    const bellCommands: string[] = [];
    const bell = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        bellCommands.push(body);
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('bell001@ring| ring OK');
      });
    });
    bell.listen(0, '127.0.0.1');
    await once(bell, 'listening');
    try {
      const group = await h().iot('POST', '/iot/services', {
        services: [{ apikey: '4jggokgpepnvsb2uv4s40d59ov', cbroker: 'http://orion:1026', entity_type: 'Thing', resource: '/iot/d' }],
      }, HEADERS);
      expect(group.status).toBe(201);

      const devices = await h().iot('POST', '/iot/devices', {
        devices: [
          {
            device_id: 'motion001',
            entity_name: 'urn:ngsi-ld:Motion:001',
            entity_type: 'Motion',
            timezone: 'Europe/Berlin',
            attributes: [{ object_id: 'c', name: 'count', type: 'Integer' }],
            static_attributes: [{ name: 'refStore', type: 'Relationship', value: 'urn:ngsi-ld:Store:001' }],
          },
          {
            device_id: 'bell001',
            entity_name: 'urn:ngsi-ld:Bell:001',
            entity_type: 'Bell',
            protocol: 'PDI-IoTA-UltraLight',
            transport: 'HTTP',
            endpoint: `http://127.0.0.1:${(bell.address() as AddressInfo).port}/iot/bell001`,
            commands: [{ name: 'ring', type: 'command' }],
            static_attributes: [{ name: 'refStore', type: 'Relationship', value: 'urn:ngsi-ld:Store:001' }],
          },
        ],
      }, HEADERS);
      expect(devices.status).toBe(201);

      const measure = await h().south('POST', '/iot/d?k=4jggokgpepnvsb2uv4s40d59ov&i=motion001', 'c|1');
      expect(measure.status).toBe(200);
      await eventually(async () => {
        const motion = (await h().client.get('/entities/urn:ngsi-ld:Motion:001', { headers: TENANT })).body;
        expect(motion).toMatchObject({ type: 'Motion', count: { type: 'Property', value: 1 }, refStore: { type: 'Relationship', object: 'urn:ngsi-ld:Store:001' } });
      });

      await eventually(async () => expect((await h().client.get('/entities/urn:ngsi-ld:Bell:001', { headers: TENANT })).body?.ring).toBeDefined());
      const patched = await h().client.patch('/entities/urn:ngsi-ld:Bell:001/attrs/ring', { type: 'Property', value: ' ' }, { headers: TENANT });
      expect(patched.status).toBe(204);
      await eventually(async () => {
        const e = (await h().client.get('/entities/urn:ngsi-ld:Bell:001?options=keyValues', { headers: TENANT })).body;
        expect(e).toMatchObject({ ring_status: 'OK', ring_info: ' ring OK' });
      });
      expect(bellCommands).toEqual(['bell001@ring| ']);

      const listed = await h().iot('GET', '/iot/devices', undefined, HEADERS);
      expect(listed.body.count).toBe(2);
    } finally {
      bell.close();
    }
  });
});
