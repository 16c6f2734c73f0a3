/** Content negotiation, tenancy and the @context rules of 6.3.4 - 6.3.6 and 5.5.10. */
import { createServer, Server } from 'node:http';
import { AddressInfo, connect } from 'node:net';
import { describeEachStore, uniqueId } from '../support/broker';

const ERR = 'https://uri.etsi.org/ngsi-ld/errors/';
const LINK = (url: string) => `<${url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`;

describeEachStore('protocol', (h) => {
  let contextServer: Server;
  let contextUrl = '';
  let brokenUrl = '';
  let fetches = 0;

  beforeAll(async () => {
    contextServer = createServer((req, res) => {
      if (req.url === '/ctx.jsonld') {
        fetches += 1;
        res.setHeader('Content-Type', 'application/ld+json');
        res.end(JSON.stringify({ '@context': { Car: 'http://example.org/vehicle#Car', speed: 'http://example.org/vehicle#speed' } }));
      } else if (req.url === '/broken.jsonld') {
        res.end('{ not json');
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((resolve) => contextServer.listen(0, '127.0.0.1', resolve));
    const { port } = contextServer.address() as AddressInfo;
    contextUrl = `http://127.0.0.1:${port}/ctx.jsonld`;
    brokenUrl = `http://127.0.0.1:${port}/broken.jsonld`;
  });
  afterAll(() => new Promise<void>((resolve) => contextServer.close(() => resolve())));

  test('a remote context from the Link header expands the request and compacts the response, fetched once', async () => {
    const id = uniqueId('Car');
    const created = await h().client.post('/entities', { id, type: 'Car', speed: 50 }, { headers: { Link: LINK(contextUrl) } });
    expect(created.status).toBe(201);
    const stored = await h().store.getEntity('', id);
    expect(stored!.types).toEqual(['http://example.org/vehicle#Car']);
    const res = await h().client.get(`/entities/${id}`, { headers: { Link: LINK(contextUrl) } });
    expect(res.body).toMatchObject({ type: 'Car', speed: { type: 'Property', value: 50 } });
    expect(res.headers.get('link')).toContain(contextUrl);
    expect(fetches).toBe(1);
  });

  test('an unreachable context is LdContextNotAvailable; an invalid one is BadRequestData', async () => {
    const missing = await h().client.get(`/entities/${uniqueId()}`, { headers: { Link: LINK(contextUrl.replace('ctx', 'nothing')) } });
    expect(missing.status).toBe(504);
    expect(missing.body.type).toBe(`${ERR}LdContextNotAvailable`);
    const broken = await h().client.post('/entities', { id: uniqueId(), type: 'T' }, { headers: { Link: LINK(brokenUrl) } });
    expect(broken.status).toBe(400);
    expect(broken.body.type).toBe(`${ERR}BadRequestData`);
  });

  test('application/json with @context in the body, ld+json without one, ld+json with a Link: 400', async () => {
    const id = uniqueId();
    const cases: Array<{ body: object; headers: Record<string, string> }> = [
      { body: { id, type: 'T', '@context': contextUrl }, headers: {} },
      { body: { id, type: 'T' }, headers: { 'Content-Type': 'application/ld+json' } },
      { body: { id, type: 'T', '@context': contextUrl }, headers: { 'Content-Type': 'application/ld+json', Link: LINK(contextUrl) } },
    ];
    for (const c of cases) {
      const res = await h().client.post('/entities', c.body, { headers: c.headers });
      expect(res.status).toBe(400);
      expect(res.body.type).toBe(`${ERR}BadRequestData`);
    }
    expect((await h().client.get(`/entities/${id}`)).status).toBe(404);
  });

  test('the URL parameters are checked before the body: an unknown one is InvalidRequest whatever the body', async () => {
    const res = await h().client.request('POST', '/entities?invalidParams=invalidValue', {
      rawBody: JSON.stringify('{"id": "urn:ngsi-ld:T:1", "type": "T"}'),
      headers: { 'Content-Type': 'application/ld+json' },
    });
    expect(res.status).toBe(400);
    expect(res.body.type).toBe(`${ERR}InvalidRequest`);
    expect(res.body.detail).toContain('invalidParams');
  });

  test('Accept: json preferred on ties, 406 for what cannot be produced, geo+json only where allowed', async () => {
    const id = uniqueId();
    await h().client.post('/entities', { id, type: 'T' });
    const tie = await h().client.get(`/entities/${id}`, { headers: { Accept: 'application/ld+json, application/json' } });
    expect(tie.headers.get('content-type')).toMatch(/^application\/json/);
    const weighted = await h().client.get(`/entities/${id}`, { headers: { Accept: 'application/json;q=0.5, application/ld+json' } });
    expect(weighted.headers.get('content-type')).toMatch(/^application\/ld\+json/);
    // A weight that is no qvalue leaves the default one: ld+json is still acceptable.
    const unparseable = await h().client.get(`/entities/${id}`, { headers: { Accept: 'application/ld+json;q=notanumber' } });
    expect(unparseable.headers.get('content-type')).toMatch(/^application\/ld\+json/);
    const any = await h().client.get(`/entities/${id}`, { headers: { Accept: '*/*' } });
    expect(any.headers.get('content-type')).toMatch(/^application\/json/);
    expect(any.headers.get('link')).toContain('ngsi-ld-core-context');
    const xml = await h().client.get(`/entities/${id}`, { headers: { Accept: 'application/xml' } });
    expect(xml.status).toBe(406);
    expect(xml.body.type).toBe(`${ERR}NotAcceptable`);
  });

  test('415 without a body for an unsupported Content-Type; merge-patch only on PATCH', async () => {
    const res = await h().client.request('POST', '/entities', { rawBody: '<x/>', headers: { 'Content-Type': 'application/xml' } });
    expect(res.status).toBe(415);
    expect(res.text).toBe('');
    const mp = await h().client.post('/entities', { id: uniqueId(), type: 'T' }, { headers: { 'Content-Type': 'application/merge-patch+json' } });
    expect(mp.status).toBe(415);
  });

  test.each([
    ['no length at all', ''],
    ['chunked encoding', 'Transfer-Encoding: chunked\r\n', '2\r\n{}\r\n0\r\n\r\n'],
  ])('411 without a body when a POST has no Content-Length: %s', async (_what, header, body = '') => {
    const { port } = new URL(h().broker.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(`POST /ngsi-ld/v1/entities HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n${header}Connection: close\r\n\r\n${body}`);
      });
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 411 /);
    expect(answer.split('\r\n\r\n')[1] ?? '').toBe('');
  });

  test('JSON answers carry the bare media type, and the source identity is there', async () => {
    const res = await fetch(`${h().broker.url}/ngsi-ld/v1/info/sourceIdentity`, { headers: { 'NGSILD-Tenant': 'alias_a' } });
    expect(res.headers.get('content-type')).toBe('application/json');
    const identity = (await res.json()) as Record<string, string>;
    expect(identity).toMatchObject({ type: 'ContextSourceIdentity', contextSourceAlias: expect.stringMatching(/:alias_a$/) });
    expect(identity.contextSourceUptime).toMatch(/^PT\d+(\.\d+)?S$/);
    expect(identity.contextSourceTimeAt).toMatch(/Z$/);
    const missing = await fetch(`${h().broker.url}/ngsi-ld/v1/entities/urn:ngsi-ld:T:none`);
    expect(missing.headers.get('content-type')).toBe('application/json');
  });

  test('405 with Allow for a verb the resource does not have', async () => {
    const res = await h().client.request('PUT', '/entities', { body: [] });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST, DELETE');
  });

  test('HEAD answers as GET without a body; a badly percent-encoded URL is 400; %2F stays inside the id', async () => {
    const id = `${uniqueId()}%2Fpart`;
    expect((await h().client.post('/entities', { id: decodeURIComponent(id), type: 'T', a: 1 })).status).toBe(201);
    const got = await h().client.get(`/entities/${id}`);
    expect(got.status).toBe(200);
    expect(got.body.id).toBe(decodeURIComponent(id));
    const head = await fetch(`${h().broker.url}/ngsi-ld/v1/entities/${id}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('application/json');
    expect(await head.text()).toBe('');
    const bad = await h().client.get('/entities/urn:ngsi-ld:T:%E0%A4%A');
    expect(bad.status).toBe(400);
    expect(bad.body.type).toBe(`${ERR}BadRequestData`);
  });

  test('tenants are isolated, created on first write, 404 NonexistentTenant before', async () => {
    const tenant = `t${Date.now().toString(36)}`;
    const id = uniqueId();
    const before = await h().client.get(`/entities/${id}`, { headers: { 'NGSILD-Tenant': tenant } });
    expect(before.status).toBe(404);
    expect(before.body.type).toBe(`${ERR}NonexistentTenant`);
    expect(before.headers.get('ngsild-tenant')).toBe(tenant);
    const query = await h().client.get('/entities?type=T', { headers: { 'NGSILD-Tenant': tenant } });
    expect(query.body.type).toBe(`${ERR}NonexistentTenant`);
    // A write that does not create must not create the tenant either.
    const patch = await h().client.patch(`/entities/${id}/attrs`, { a: 1 }, { headers: { 'NGSILD-Tenant': tenant } });
    expect(patch.status).toBe(404);
    expect(patch.body.type).toBe(`${ERR}NonexistentTenant`);
    const batchUpdate = await h().client.post('/entityOperations/update', [{ id, type: 'T', a: 1 }], { headers: { 'NGSILD-Tenant': tenant } });
    expect(batchUpdate.body.type).toBe(`${ERR}NonexistentTenant`);

    expect((await h().client.post('/entities', { id, type: 'T' }, { headers: { 'NGSILD-Tenant': tenant } })).status).toBe(201);
    const inTenant = await h().client.get(`/entities/${id}`, { headers: { 'NGSILD-Tenant': tenant } });
    expect(inTenant.status).toBe(200);
    expect(inTenant.headers.get('ngsild-tenant')).toBe(tenant);
    expect((await h().client.get(`/entities/${id}`)).status).toBe(404);
    const other = await h().client.post('/entities', { id, type: 'T' });
    expect(other.status).toBe(201);
  });

  test('errors are application/json ProblemDetails without a context Link', async () => {
    const res = await h().client.get(`/entities/${uniqueId()}`, { headers: { Accept: 'application/ld+json' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('link')).toBeNull();
    expect(res.body).toEqual({ type: `${ERR}ResourceNotFound`, title: expect.any(String), status: 404, detail: expect.any(String) });
  });

  test('a 204 has no body and no Content-Length', async () => {
    const id = uniqueId();
    await h().client.post('/entities', { id, type: 'T', a: 1 });
    const res = await h().client.patch(`/entities/${id}/attrs`, { a: 2 });
    expect(res.status).toBe(204);
    expect(res.headers.get('content-length')).toBeNull();
  });
});
