/** Context source registrations (5.9, 5.10): register, retrieve, query, update, delete, and the rules of their modes. */
import { describeEachStore, uniqueId } from '../support/broker';
import { eventually, Receiver } from '../support/receiver';

const ERR = 'https://uri.etsi.org/ngsi-ld/errors/';

describeEachStore('context source registrations', (h) => {
  const registration = (extra: Record<string, unknown> = {}) => ({
    id: uniqueId('ContextSourceRegistration'),
    type: 'ContextSourceRegistration',
    information: [{ entities: [{ type: 'Vehicle', id: 'urn:ngsi-ld:Vehicle:A456' }], propertyNames: ['speed', 'brandName'], relationshipNames: ['isParked'] }],
    endpoint: 'http://my.csource.org:1026',
    ...extra,
  });

  test('register, retrieve (compacted, with sysAttrs on request), update by merge, delete', async () => {
    const body = registration({ registrationName: 'vehicles', contextSourceInfo: [{ key: 'Authorization', value: 'Bearer x' }], cityName: 'Madrid' });
    const created = await h().client.post('/csourceRegistrations', body);
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/ngsi-ld/v1/csourceRegistrations/${body.id}`);
    const got = await h().client.get(`/csourceRegistrations/${body.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      id: body.id,
      type: 'ContextSourceRegistration',
      information: body.information,
      endpoint: body.endpoint,
      mode: 'inclusive',
      registrationName: 'vehicles',
      cityName: 'Madrid',
    });
    expect(got.body.createdAt).toBeUndefined();
    expect((await h().client.get(`/csourceRegistrations/${body.id}?options=sysAttrs`)).body.createdAt).toEqual(expect.any(String));
    expect((await h().client.patch(`/csourceRegistrations/${body.id}`, { description: 'fleet', registrationName: null })).status).toBe(204);
    const updated = (await h().client.get(`/csourceRegistrations/${body.id}`)).body;
    expect(updated.description).toBe('fleet');
    expect(updated.registrationName).toBeUndefined();
    expect((await h().client.post('/csourceRegistrations', body)).status).toBe(409);
    expect((await h().client.delete(`/csourceRegistrations/${body.id}`)).status).toBe(204);
    expect((await h().client.get(`/csourceRegistrations/${body.id}`)).status).toBe(404);
    expect((await h().client.delete(`/csourceRegistrations/${body.id}`)).status).toBe(404);
  });

  test('an id is generated when none is given', async () => {
    const { id: _id, ...body } = registration();
    const created = await h().client.post('/csourceRegistrations', body);
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toMatch(/\/csourceRegistrations\/urn:ngsi-ld:ContextSourceRegistration:/);
  });

  test.each([
    ['no information', { information: undefined }],
    ['empty information', { information: [] }],
    ['no endpoint', { endpoint: undefined }],
    ['another type', { type: 'Subscription' }],
    ['an unknown mode', { mode: 'sometimes' }],
    ['an unknown operation', { operations: ['teleport'] }],
    ['expiresAt in the past', { expiresAt: '2020-01-01T00:00:00Z' }],
    ['a numeric contextSourceInfo value', { contextSourceInfo: [{ key: 'k', value: 1 }] }],
    ['a contextSourceInfo pair without value', { contextSourceInfo: [{ key: 'k' }] }],
    ['a non-object management', { management: 5 }],
    ['a zero cooldown', { management: { cooldown: 0 } }],
    ['an invalid cacheDuration', { management: { cacheDuration: 'soon' } }],
    ['a non-boolean localOnly', { management: { localOnly: 'yes' } }],
    ['an invalid location', { location: { type: 'Point', coordinates: [500, 1] } }],
    ['an auxiliary registration offering writes', { mode: 'auxiliary', operations: ['updateOps'] }],
    ['an exclusive registration without attributes', { mode: 'exclusive', information: [{ entities: [{ type: 'Vehicle', id: 'urn:ngsi-ld:Vehicle:1' }] }] }],
    ['an exclusive registration by idPattern', { mode: 'exclusive', information: [{ entities: [{ type: 'Vehicle', idPattern: '.*' }], propertyNames: ['speed'] }] }],
  ])('%s is 400 BadRequestData and stores nothing', async (_, change) => {
    const body = { ...registration(), ...change } as Record<string, unknown>;
    for (const [k, v] of Object.entries(change)) if (v === undefined) delete body[k];
    const res = await h().client.post('/csourceRegistrations', body);
    expect(res.status).toBe(400);
    expect(res.body.type).toBe(`${ERR}BadRequestData`);
    if (typeof body.id === 'string') expect((await h().client.get(`/csourceRegistrations/${body.id}`)).status).toBe(404);
  });

  test('an update cannot remove a mandatory member or change the type; unknown ids are 404, bad ones 400', async () => {
    const body = registration();
    await h().client.post('/csourceRegistrations', body);
    expect((await h().client.patch(`/csourceRegistrations/${body.id}`, { endpoint: null })).status).toBe(400);
    expect((await h().client.patch(`/csourceRegistrations/${body.id}`, { type: 'Subscription' })).status).toBe(400);
    expect((await h().client.patch(`/csourceRegistrations/${uniqueId('ContextSourceRegistration')}`, { description: 'x' })).status).toBe(404);
    expect((await h().client.get('/csourceRegistrations/not-a-uri')).status).toBe(400);
  });

  test('exclusive and redirect registrations conflict with overlapping ones and with stored entities', async () => {
    const car = uniqueId('Car');
    await h().client.post('/entities', { id: car, type: 'Car', speed: 10 });
    const exclusiveOver = (attr: string) => registration({ mode: 'exclusive', information: [{ entities: [{ type: 'Car', id: car }], propertyNames: [attr] }] });
    // The stored car has speed: an exclusive registration of its speed would hide it.
    expect((await h().client.post('/csourceRegistrations', exclusiveOver('speed'))).status).toBe(409);
    const exclusive = exclusiveOver('fuel');
    expect((await h().client.post('/csourceRegistrations', exclusive)).status).toBe(201);
    // Nothing may overlap an exclusive registration.
    const inclusive = registration({ information: [{ entities: [{ type: 'Car', id: car }], propertyNames: ['fuel'] }] });
    const res = await h().client.post('/csourceRegistrations', inclusive);
    expect(res.status).toBe(409);
    expect(res.body.type).toBe(`${ERR}Conflict`);
    // A redirect registration may not cover a stored entity; two redirect ones may overlap.
    expect((await h().client.post('/csourceRegistrations', registration({ mode: 'redirect', information: [{ entities: [{ type: 'Car' }] }] }))).status).toBe(409);
    const redirect = () => registration({ mode: 'redirect', information: [{ entities: [{ type: 'Boat' }] }] });
    expect((await h().client.post('/csourceRegistrations', redirect())).status).toBe(201);
    expect((await h().client.post('/csourceRegistrations', redirect())).status).toBe(201);
  });

  test('an expired registration is gone', async () => {
    // Room for a machine busy with the rest of the suite to create and read it before it expires.
    const expiry = Date.now() + 3_000;
    const body = registration({ expiresAt: new Date(expiry).toISOString() });
    expect((await h().client.post('/csourceRegistrations', body)).status).toBe(201);
    expect((await h().client.get(`/csourceRegistrations/${body.id}`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, expiry + 100 - Date.now()));
    expect((await h().client.get(`/csourceRegistrations/${body.id}`)).status).toBe(404);
  });
});

describeEachStore('context source registration queries', (h) => {
  const type = `Parking${Date.now().toString(36)}`;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    const regs: Record<string, Record<string, unknown>> = {
      byId: { information: [{ entities: [{ type, id: `urn:ngsi-ld:${type}:1` }], propertyNames: ['spots', 'location'] }], location: { type: 'Point', coordinates: [-3.7, 40.4] }, city: 'Madrid' },
      byPattern: { information: [{ entities: [{ type, idPattern: '.*downtown$' }], relationshipNames: ['nextTo'] }], city: 'Paris' },
      anyAttr: { information: [{ entities: [{ type }] }], scope: '/Madrid/Centre' },
      history: { information: [{ entities: [{ type }] }], observationInterval: { startAt: '2020-01-01T00:00:00Z', endAt: '2020-12-31T00:00:00Z' } },
    };
    for (const [name, extra] of Object.entries(regs)) {
      ids[name] = uniqueId('ContextSourceRegistration');
      const res = await h().client.post('/csourceRegistrations', { id: ids[name], type: 'ContextSourceRegistration', endpoint: 'http://cs.example.org', ...extra });
      expect(res.status).toBe(201);
    }
  });

  const found = async (query: string) => {
    const res = await h().client.get(`/csourceRegistrations?${query}`);
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(Object.entries(ids).map(([k, v]) => [v, k]));
    return res.body.map((r: { id: string }) => byId[r.id]).filter(Boolean).sort();
  };

  test('by type, entity id, attributes and q names; registrations of history only with a temporal query', async () => {
    expect(await found(`type=${type}`)).toEqual(['anyAttr', 'byId', 'byPattern']);
    expect(await found(`type=${type}&id=urn:ngsi-ld:${type}:1`)).toEqual(['anyAttr', 'byId']);
    expect(await found(`type=${type}&id=urn:ngsi-ld:${type}:downtown`)).toEqual(['anyAttr', 'byPattern']);
    expect(await found(`type=${type}&attrs=nextTo`)).toEqual(['anyAttr', 'byPattern']);
    expect(await found(`type=${type}&q=spots>3`)).toEqual(['anyAttr', 'byId']);
    expect(await found(`type=${type}&timerel=after&timeAt=2020-06-01T00:00:00Z`)).toEqual(['history']);
    expect(await found(`type=${type}&timerel=after&timeAt=2021-06-01T00:00:00Z`)).toEqual([]);
    // A period overlapping the interval is enough: before a time after its end still reaches into it.
    expect(await found(`type=${type}&timerel=before&timeAt=2021-06-01T00:00:00Z`)).toEqual(['history']);
    expect(await found(`type=${type}&timerel=before&timeAt=2019-06-01T00:00:00Z`)).toEqual([]);
    expect(await found(`type=${type}&timerel=after&timeAt=2020-06-01T00:00:00Z&timeproperty=modifiedAt`)).toEqual([]);
  });

  test('by csf on Context Source Properties, geo-query on location, scopeQ; paginated', async () => {
    expect(await found(`type=${type}&csf=${encodeURIComponent('city=="Madrid"')}`)).toEqual(['byId']);
    // The registration's own members are properties of the source too.
    expect(await found(`type=${type}&csf=${encodeURIComponent('endpoint=="http://cs.example.org"')}`)).toEqual(['anyAttr', 'byId', 'byPattern']);
    // Entity ids alone are narrow enough.
    expect(await found(`id=urn:ngsi-ld:${type}:1`)).toEqual(['anyAttr', 'byId']);
    // The geo-query's GeoProperty also selects RegistrationInfos, as attrs would; anyAttr has no location to match.
    expect(await found(`type=${type}&georel=${encodeURIComponent('near;maxDistance==1000')}&geometry=Point&coordinates=${encodeURIComponent('[-3.701,40.401]')}`)).toEqual(['byId']);
    expect(await found(`type=${type}&georel=${encodeURIComponent('near;maxDistance==10')}&geometry=Point&coordinates=${encodeURIComponent('[-3.8,40.5]')}`)).toEqual([]);
    expect(await found(`type=${type}&scopeQ=${encodeURIComponent('/Madrid/#')}`)).toEqual(['anyAttr']);
    const page = await h().client.get(`/csourceRegistrations?type=${type}&limit=1&count=true`);
    expect(page.body).toHaveLength(1);
    expect(page.headers.get('ngsild-results-count')).toBe('3');
    expect(page.headers.get('link')).toContain('rel="next"');
  });

  test.each([
    ['neither type, id nor attrs', ''],
    ['an id that is no URI', `type=T&id=${encodeURIComponent('not a uri')}`],
    ['a q that does not parse', 'type=T&q=))'],
    ['a geo-query that does not parse', 'type=T&georel=near&geometry=Point&coordinates=[1,2]'],
    ['a temporal query that does not parse', 'type=T&timerel=around&timeAt=2020-01-01T00:00:00Z'],
  ])('%s is 400 BadRequestData', async (_, query) => {
    const res = await h().client.get(`/csourceRegistrations?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.type).toBe(`${ERR}BadRequestData`);
  });
});

describeEachStore('subscriptions to context source registrations', (h) => {
  test('create, retrieve, query, update and delete; a malformed one is 400', async () => {
    const id = uniqueId('Subscription');
    const body = { id, type: 'Subscription', entities: [{ type: 'Vehicle' }], notification: { endpoint: { uri: 'http://127.0.0.1:9/csr' } } };
    expect((await h().client.post('/csourceSubscriptions', body)).status).toBe(201);
    expect((await h().client.post('/csourceSubscriptions', body)).status).toBe(409);
    const got = await h().client.get(`/csourceSubscriptions/${id}`);
    expect(got.body).toMatchObject({ id, type: 'Subscription', entities: [{ type: 'Vehicle' }], notification: { endpoint: { uri: 'http://127.0.0.1:9/csr' } } });
    // notificationTrigger is a member of entity subscriptions only.
    expect(got.body.notificationTrigger).toBeUndefined();
    expect((await h().client.patch(`/csourceSubscriptions/${id}`, { subscriptionName: 'vehicles' })).status).toBe(204);
    const listed = await h().client.get('/csourceSubscriptions?count=true');
    expect(listed.body.find((s: { id: string }) => s.id === id).subscriptionName).toBe('vehicles');
    expect((await h().client.delete(`/csourceSubscriptions/${id}`)).status).toBe(204);
    expect((await h().client.get(`/csourceSubscriptions/${id}`)).status).toBe(404);
    expect((await h().client.post('/csourceSubscriptions', { type: 'Subscription', entities: [{ type: 'Vehicle' }] })).status).toBe(400);
    expect((await h().client.get('/csourceSubscriptions/not-a-uri')).status).toBe(400);
  });

  test('registrations it concerns notify it when created, updated and deleted', async () => {
    const receiver = await Receiver.start();
    try {
      const type = `Drone${Date.now().toString(36)}`;
      const sub = uniqueId('Subscription');
      await h().client.post('/csourceSubscriptions', { id: sub, type: 'Subscription', entities: [{ type }], watchedAttributes: ['battery'], notification: { endpoint: { uri: receiver.url() } } });
      const reg = uniqueId('ContextSourceRegistration');
      const registration = { id: reg, type: 'ContextSourceRegistration', information: [{ entities: [{ type }], propertyNames: ['battery'] }], endpoint: 'http://drones.example.org' };
      await h().client.post('/csourceRegistrations', registration);
      // Not about this subscription's type: no notification.
      await h().client.post('/csourceRegistrations', { ...registration, id: uniqueId('ContextSourceRegistration'), information: [{ entities: [{ type: 'Boat' }] }] });
      await h().client.patch(`/csourceRegistrations/${reg}`, { description: 'fleet' });
      await h().client.delete(`/csourceRegistrations/${reg}`);
      const notes = await receiver.waitFor(undefined, 3);
      expect(notes.map((n) => n.body.triggerReason)).toEqual(['newlyMatching', 'updated', 'noLongerMatching']);
      expect(notes[1].body).toMatchObject({ type: 'ContextSourceNotification', subscriptionId: sub, data: [{ id: reg, type: 'ContextSourceRegistration', description: 'fleet' }] });
      // A subscription made later hears at once of the registrations it concerns.
      const later = uniqueId('Subscription');
      await h().client.post('/csourceSubscriptions', { id: later, type: 'Subscription', entities: [{ type: 'Boat' }], notification: { endpoint: { uri: receiver.url('/later') } } });
      const [initial] = await receiver.waitFor('/later', 1);
      expect(initial.body).toMatchObject({ triggerReason: 'newlyMatching', data: [{ information: [{ entities: [{ type: 'Boat' }] }] }] });
      // Each attempt is counted once its answer is in.
      await eventually(async () => {
        const status = await h().client.get(`/csourceSubscriptions/${sub}`);
        expect(status.body.notification).toMatchObject({ timesSent: 3, status: 'ok' });
      });
    } finally {
      await receiver.close();
    }
  });
});
