/** Remote @context handling against a real local HTTP server: cache, TTL, limits and errors. */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ContextResolver, formatContextLink, parseContextLink } from '../../src/jsonld';
import { NgsiError } from '../../src/errors';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let base = '';
const hits = new Map<string, number>();
const routes = new Map<string, Handler>();

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.set(req.url!, (hits.get(req.url!) ?? 0) + 1);
    const route = routes.get(req.url!);
    if (route) route(req, res);
    else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const json = (body: unknown, headers: Record<string, string> = {}): Handler => (_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/ld+json', ...headers });
  res.end(JSON.stringify(body));
};

async function failure(promise: Promise<unknown>): Promise<NgsiError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(NgsiError);
    return e as NgsiError;
  }
  throw new Error('expected a failure');
}

test('core context URLs of every version resolve without any fetch', async () => {
  const resolver = new ContextResolver();
  for (const v of ['', '-v1.3', '-v1.4', '-v1.5', '-v1.6', '-v1.7', '-v1.8', '-v1.9']) {
    const ctx = await resolver.resolve(`https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context${v}.jsonld`);
    expect(ctx.expandTerm('location')).toBe('https://uri.etsi.org/ngsi-ld/location');
  }
  expect(hits.size).toBe(0);
});

test('a remote context is fetched once, then served from the cache', async () => {
  routes.set('/once.jsonld', json({ '@context': { speed: 'http://example.org/speed' } }));
  const resolver = new ContextResolver();
  const [a, b] = await Promise.all([resolver.resolve(`${base}/once.jsonld`), resolver.resolve(`${base}/once.jsonld`)]);
  const c = await resolver.resolve(`${base}/once.jsonld`);
  expect(a.expandTerm('speed')).toBe('http://example.org/speed');
  expect(b).toBe(a);
  expect(c).toBe(a);
  expect(a.linkUrl).toBe(`${base}/once.jsonld`);
  expect(a.responseContext).toBe(`${base}/once.jsonld`);
  expect(hits.get('/once.jsonld')).toBe(1);
});

test('Cache-Control max-age decides when it is fetched again', async () => {
  routes.set('/short.jsonld', json({ '@context': { a: 'http://example.org/a' } }, { 'Cache-Control': 'max-age=0' }));
  routes.set('/long.jsonld', json({ '@context': { a: 'http://example.org/a' } }, { 'Cache-Control': 'max-age=3600' }));
  const resolver = new ContextResolver();
  await resolver.resolve(`${base}/short.jsonld`);
  await new Promise((r) => setTimeout(r, 5));
  await resolver.resolve(`${base}/short.jsonld`);
  await resolver.resolve(`${base}/long.jsonld`);
  await resolver.resolve(`${base}/long.jsonld`);
  expect(hits.get('/short.jsonld')).toBe(2);
  expect(hits.get('/long.jsonld')).toBe(1);
});

test('the default time-to-live expires too', async () => {
  routes.set('/ttl.jsonld', json({ '@context': { a: 'http://example.org/a' } }));
  const resolver = new ContextResolver({ remote: { defaultTtlMs: 1 } });
  await resolver.resolve(`${base}/ttl.jsonld`);
  await new Promise((r) => setTimeout(r, 10));
  await resolver.resolve(`${base}/ttl.jsonld`);
  expect(hits.get('/ttl.jsonld')).toBe(2);
});

test('unreachable, failing, slow or oversized contexts are LdContextNotAvailable with the configured status', async () => {
  routes.set('/500.jsonld', (_req, res) => {
    res.statusCode = 500;
    res.end();
  });
  routes.set('/slow.jsonld', (_req, res) => setTimeout(() => json({ '@context': {} })(_req, res), 500));
  routes.set('/big.jsonld', json({ '@context': { a: 'http://example.org/'.padEnd(5000, 'x') } }));
  const resolver = new ContextResolver({ remote: { timeoutMs: 100, maxBytes: 1000, unavailableStatus: 504 } });
  for (const path of ['/missing.jsonld', '/500.jsonld', '/slow.jsonld', '/big.jsonld']) {
    const e = await failure(resolver.resolve(`${base}${path}`));
    expect(e.type).toBe('LdContextNotAvailable');
    expect(e.status).toBe(504);
  }
  const refused = await failure(resolver.resolve('http://127.0.0.1:1/nothing.jsonld'));
  expect(refused.type).toBe('LdContextNotAvailable');
});

test('invalid JSON, a document without @context, scoped contexts and invalid definitions are BadRequestData', async () => {
  routes.set('/broken.jsonld', (_req, res) => res.end('{ nope'));
  routes.set('/nocontext.jsonld', json({ hello: 'world' }));
  routes.set('/scoped.jsonld', json({ '@context': { a: { '@id': 'http://example.org/a', '@context': { b: 'http://example.org/b' } } } }));
  const resolver = new ContextResolver();
  for (const source of [`${base}/broken.jsonld`, `${base}/nocontext.jsonld`, `${base}/scoped.jsonld`, { a: { '@id': 42 } }, [42 as unknown as string]]) {
    const e = await failure(resolver.resolve(source as never));
    expect(e.type).toBe('BadRequestData');
  }
});

test('an inline context is served by the broker under a stable hash', async () => {
  const resolver = new ContextResolver({ servedBaseUrl: () => 'http://broker.example' });
  const inline = { temperature: 'http://example.org/temperature' };
  const ctx = await resolver.resolve(inline);
  expect(ctx.linkUrl).toMatch(/^http:\/\/broker\.example\/ngsi-ld\/v1\/jsonldContexts\/[0-9a-f]{32}$/);
  const id = ctx.linkUrl.split('/').pop()!;
  expect(resolver.getStored(id)).toEqual({ '@context': inline });
  expect((await resolver.resolve({ ...inline })).linkUrl).toBe(ctx.linkUrl);
});

test('the core context wins conflicts and compacts core IRIs to core terms', async () => {
  const resolver = new ContextResolver();
  const ctx = await resolver.resolve({ myLocation: 'https://uri.etsi.org/ngsi-ld/location' });
  expect(ctx.compactIri('https://uri.etsi.org/ngsi-ld/location')).toBe('location');
  expect(ctx.expandTerm('myLocation')).toBe('https://uri.etsi.org/ngsi-ld/location');
  expect(ctx.expandTerm('http://example.org/x')).toBe('http://example.org/x');
  expect(ctx.compactIri('http://nowhere.example/x')).toBe('http://nowhere.example/x');
});

describe('Link header', () => {
  test('finds the JSON-LD context among several link-values, whatever the spacing', () => {
    const url = 'http://example.org/ctx.jsonld';
    expect(parseContextLink(formatContextLink(url))).toBe(url);
    expect(parseContextLink(`<http://example.org/next>; rel="next", <${url}>;rel="http://www.w3.org/ns/json-ld#context";type="application/ld+json"`)).toBe(url);
    expect(parseContextLink(`<http://example.org/a,b.jsonld>; rel=http://www.w3.org/ns/json-ld#context`)).toBe('http://example.org/a,b.jsonld');
    expect(parseContextLink('<http://example.org/x>; rel="alternate"')).toBeUndefined();
    expect(parseContextLink(undefined)).toBeUndefined();
  });
});
