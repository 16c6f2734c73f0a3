/** Linked entity retrieval (4.5.23): join=flat|inline with joinLevel, on retrieve, query and notifications. */
import { describeEachStore, uniqueId } from '../support/broker';
import { Receiver } from '../support/receiver';

describeEachStore(
  'linked entity retrieval',
  (h) => {
    const city = uniqueId('City');
    const country = uniqueId('Country');
    const building = uniqueId('Building');
    beforeAll(async () => {
      await h().client.post('/entities', { id: country, type: 'Country', name: 'France' });
      await h().client.post('/entities', { id: city, type: 'City', name: 'Paris', in: { type: 'Relationship', object: country } });
      await h().client.post('/entities', { id: building, type: 'Building', name: 'Eiffel', locatedAt: { type: 'Relationship', object: city }, missing: { type: 'Relationship', object: 'urn:ngsi-ld:City:nowhere' } });
    });

    test('flat: the linking entity, then what it links to, level by level', async () => {
      const one = await h().client.get(`/entities/${building}?join=flat&options=keyValues`);
      expect(one.status).toBe(200);
      expect(one.body.map((e: { id: string }) => e.id)).toEqual([building, city]);
      const two = await h().client.get(`/entities/${building}?join=flat&joinLevel=2&options=keyValues`);
      expect(two.body.map((e: { id: string }) => e.id)).toEqual([building, city, country]);
      // Nothing linked found: the entity alone, not a list of one.
      const alone = await h().client.get(`/entities/${country}?join=flat&options=keyValues`);
      expect(alone.body).toEqual({ id: country, type: 'Country', name: 'France' });
    });

    test('inline: the linked entity inside the Relationship; keyValues replaces the Relationship by it', async () => {
      const normalized = await h().client.get(`/entities/${building}?join=inline&joinLevel=2`);
      expect(normalized.body.locatedAt).toMatchObject({ type: 'Relationship', object: city, entity: { id: city, type: 'City', in: { object: country, entity: { id: country } } } });
      expect(normalized.body.missing).toEqual({ type: 'Relationship', object: 'urn:ngsi-ld:City:nowhere' });
      const simple = await h().client.get(`/entities?type=Building&id=${building}&join=inline&options=keyValues`);
      expect(simple.body[0].locatedAt).toEqual({ id: city, type: 'City', name: 'Paris', in: country });
    });

    test('pick and omit reach into linked entities through braces (4.21)', async () => {
      const inline = await h().client.get(`/entities/${building}?join=inline&joinLevel=2&pick=id,locatedAt{id,name,in{id}}`);
      expect(inline.body).toEqual({
        id: building,
        locatedAt: {
          type: 'Relationship',
          object: city,
          entity: { id: city, name: { type: 'Property', value: 'Paris' }, in: { type: 'Relationship', object: country, entity: { id: country } } },
        },
      });
      const flat = await h().client.get(`/entities/${building}?join=flat&options=keyValues&omit=missing,locatedAt{in,type}`);
      expect(flat.body).toEqual([
        { id: building, type: 'Building', name: 'Eiffel', locatedAt: city },
        { id: city, name: 'Paris' },
      ]);
      expect((await h().client.get(`/entities/${building}?join=flat&pick=id,locatedAt{name`)).status).toBe(400);
      // Reaching into linked entities needs a join, as deep as the projection goes.
      expect((await h().client.get(`/entities/${building}?pick=id,locatedAt{name}`)).status).toBe(400);
      expect((await h().client.get(`/entities/${building}?join=inline&pick=id,locatedAt{in{id}}`)).status).toBe(400);
      expect((await h().client.get(`/entities?type=Building&join=flat&omit=locatedAt{in{type}}`)).status).toBe(400);
      expect((await h().client.get(`/temporal/entities/${building}?pick=locatedAt{name}`)).status).toBe(400);
    });

    test('a flat join follows only the Relationships the projection keeps; a pick of attributes selects entities having one', async () => {
      const named = await h().client.get(`/entities?type=Building&id=${building}&join=flat&pick=id,name&options=keyValues`);
      expect(named.body).toEqual([{ id: building, name: 'Eiffel' }]);
      const omitted = await h().client.get(`/entities/${building}?join=flat&omit=locatedAt,missing&options=keyValues`);
      expect(omitted.body).toEqual({ id: building, type: 'Building', name: 'Eiffel' });
      // Two levels asked for, but the city's projection keeps no Relationship: the country is not reached.
      const twoLevels = await h().client.get(`/entities/${building}?join=flat&joinLevel=2&options=keyValues&pick=id,locatedAt{id,name}`);
      expect(twoLevels.body).toEqual([{ id: building, locatedAt: city }, { id: city, name: 'Paris' }]);
      // Omitting a member of a linked entity keeps the Relationship that leads to it.
      const nested = await h().client.get(`/entities/${building}?join=flat&joinLevel=2&options=keyValues&omit=missing,name,locatedAt{in{type}}`);
      expect(nested.body).toEqual([
        { id: building, type: 'Building', locatedAt: city },
        { id: city, type: 'City', name: 'Paris', in: country },
        { id: country, name: 'France' },
      ]);
      // Only the building has locatedAt: the city and the country are not answered as {}.
      const picked = await h().client.get(`/entities?type=Building,City,Country&id=${building},${city},${country}&pick=locatedAt&options=keyValues`);
      expect(picked.body).toEqual([{ locatedAt: city }]);
    });

    test('bad join parameters are 400', async () => {
      expect((await h().client.get(`/entities/${building}?join=sideways`)).status).toBe(400);
      expect((await h().client.get(`/entities/${building}?join=flat&joinLevel=0`)).status).toBe(400);
    });

    test('a subscription with join sends the linked entities with the change', async () => {
      const receiver = await Receiver.start();
      try {
        await h().client.post('/subscriptions', {
          type: 'Subscription',
          entities: [{ id: building, type: 'Building' }],
          notification: { join: 'flat', format: 'keyValues', endpoint: { uri: receiver.url() } },
        });
        await h().client.patch(`/entities/${building}/attrs`, { name: { type: 'Property', value: 'Tour Eiffel' } });
        const [n] = await receiver.waitFor(undefined, 1);
        expect(n.body.data).toEqual([
          { id: building, type: 'Building', name: 'Tour Eiffel', locatedAt: city, missing: 'urn:ngsi-ld:City:nowhere' },
          { id: city, type: 'City', name: 'Paris', in: country },
        ]);
      } finally {
        await receiver.close();
      }
    });

    test("a notification's attributes select from the notified entity; what it links to is shown whole", async () => {
      const receiver = await Receiver.start();
      try {
        for (const join of ['flat', 'inline']) {
          await h().client.post('/subscriptions', {
            type: 'Subscription',
            entities: [{ id: building, type: 'Building' }],
            notification: { join, attributes: ['locatedAt'], endpoint: { uri: receiver.url() } },
          });
        }
        await h().client.patch(`/entities/${building}/attrs`, { name: { type: 'Property', value: 'La Tour Eiffel' } });
        const notifications = await receiver.waitFor(undefined, 2);
        const wholeCity = { id: city, type: 'City', name: { type: 'Property', value: 'Paris' }, in: { type: 'Relationship', object: country } };
        const flat = notifications.find((n) => n.body.data.length === 2)!;
        // `missing` is not among the attributes: its link is not followed.
        expect(flat.body.data).toEqual([{ id: building, type: 'Building', locatedAt: { type: 'Relationship', object: city } }, wholeCity]);
        const inline = notifications.find((n) => n.body.data.length === 1)!;
        expect(inline.body.data).toEqual([{ id: building, type: 'Building', locatedAt: { type: 'Relationship', object: city, entity: wholeCity } }]);
      } finally {
        await receiver.close();
      }
    });
  },
  { CIVITAS_NOTIFY_POLL_MS: '100' },
);
