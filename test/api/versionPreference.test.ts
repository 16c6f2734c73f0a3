/** Prefer: ngsi-ld=<version> (4.3.6.8): Preference-Applied on every answer, entity data amended (203) when it had to be. */
import { describeEachStore, uniqueId } from '../support/broker';

describeEachStore('version preference', (h) => {
  it('amends entity data for an earlier version, 203 with Preference-Applied', async () => {
    const id = uniqueId('Building');
    await h().client.post('/entities', { id, type: 'Building', category: { type: 'VocabProperty', vocab: 'monument' }, height: 30 });
    const old = await h().client.get(`/entities/${id}`, { headers: { Prefer: 'ngsi-ld=1.5' } });
    expect(old.status).toBe(203);
    expect(old.headers.get('preference-applied')).toBe('ngsi-ld=1.5');
    expect(old.body.category).toEqual({ type: 'Property', value: 'monument' });
    const native = await h().client.get(`/entities/${id}`, { headers: { Prefer: 'ngsi-ld=1.9' } });
    expect(native.status).toBe(200);
    expect(native.body.category.type).toBe('VocabProperty');
    const listed = await h().client.get(`/entities?type=Building&id=${id}`, { headers: { Prefer: 'respond-async, NGSI-LD="1.5"' } });
    expect(listed.status).toBe(203);
    expect(listed.body[0].category.type).toBe('Property');
    const none = await h().client.get(`/entities/${id}`, { headers: { Prefer: 'respond-async' } });
    expect(none.status).toBe(200);
    expect(none.headers.get('preference-applied')).toBeNull();
  });

  it('amends an entity read again (from the entity cache) without touching JSON content shaped like an attribute', async () => {
    const id = uniqueId('Sensor');
    const json = { type: 'Reading', valueType: 'raw', expiresAt: 'never' };
    await h().client.post('/entities', { id, type: 'Sensor', raw: { type: 'JsonProperty', json } });
    for (let n = 0; n < 2; n++) {
      const res = await h().client.get(`/entities/${id}`, { headers: { Prefer: 'ngsi-ld=1.8' } });
      expect(res.status).toBe(200);
      expect(res.body.raw).toEqual({ type: 'JsonProperty', json });
    }
    const old = await h().client.get(`/entities/${id}`, { headers: { Prefer: 'ngsi-ld=1.5' } });
    expect(old.status).toBe(203);
    expect(old.body.raw).toEqual({ type: 'Property', value: json });
  });

  it('confirms the version on other resources and leaves them as they are', async () => {
    const created = await h().client.post('/subscriptions', { type: 'Subscription', entities: [{ type: 'Building' }], notification: { attributes: ['height'], endpoint: { uri: 'http://127.0.0.1:9/n' } } });
    expect(created.status).toBe(201);
    const id = created.headers.get('location')!.split('/').pop()!;
    const res = await h().client.get(`/subscriptions/${decodeURIComponent(id)}`, { headers: { Prefer: 'ngsi-ld=1.0' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('preference-applied')).toBe('ngsi-ld=1.0');
    expect(res.body.notification.attributes).toEqual(['height']);
  });
});
