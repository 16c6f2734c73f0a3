/** Temporal pagination (6.3.10): more instances than the configured cap give 206 with a Content-Range. */
import { describeEachStore, uniqueId } from '../support/broker';

const minute = (m: number) => new Date(Date.UTC(2020, 0, 1, 1, m)).toISOString();

describeEachStore(
  'temporal pagination',
  (h) => {
    let id: string;
    beforeAll(async () => {
      id = uniqueId('Vehicle');
      // speed at minutes 1..8, fuelLevel at minutes 3..10: eight instances each, over the cap of 5.
      const speed = Array.from({ length: 8 }, (_, i) => ({ type: 'Property', value: i, observedAt: minute(i + 1) }));
      const fuelLevel = Array.from({ length: 8 }, (_, i) => ({ type: 'Property', value: 100 - i, observedAt: minute(i + 3) }));
      expect((await h().client.post('/temporal/entities', { id, type: 'Vehicle', speed, fuelLevel })).status).toBe(201);
    });

    const times = (body: any) => [...body.speed, ...body.fuelLevel].map((i: { observedAt: string }) => i.observedAt).sort();

    it('pages forwards from the least recent instance, cutting every attribute at one time', async () => {
      const res = await h().client.get(`/temporal/entities/${id}`);
      expect(res.status).toBe(206);
      // speed's fifth instance (minute 5) is the earliest cut: fuelLevel keeps minutes 3 to 5.
      expect(res.body.speed.map((i: { value: number }) => i.value)).toEqual([0, 1, 2, 3, 4]);
      expect(res.body.fuelLevel.map((i: { value: number }) => i.value)).toEqual([100, 99, 98]);
      expect(res.headers.get('content-range')).toBe(`date-time ${minute(1)}-${minute(5)}/*`);
    });

    it('names an attribute the cut left without instances, with none', async () => {
      // From minute 9 on only fuelLevel has instances; speed's are all before the window.
      const other = uniqueId('Vehicle');
      const speed = Array.from({ length: 6 }, (_, i) => ({ type: 'Property', value: i, observedAt: minute(i + 1) }));
      const fuelLevel = Array.from({ length: 6 }, (_, i) => ({ type: 'Property', value: i, observedAt: minute(i + 20) }));
      expect((await h().client.post('/temporal/entities', { id: other, type: 'Vehicle', speed, fuelLevel })).status).toBe(201);
      const res = await h().client.get(`/temporal/entities/${other}`);
      expect(res.status).toBe(206);
      expect(res.body.speed).toHaveLength(5);
      expect(res.body.fuelLevel).toEqual([]);
    });

    it('starts the range at timeAt for after and between', async () => {
      const timeAt = '2019-01-01T01:01:00.000Z';
      const after = await h().client.get(`/temporal/entities/${id}?timerel=after&timeAt=${timeAt}`);
      expect(after.status).toBe(206);
      expect(after.headers.get('content-range')).toBe(`date-time ${timeAt}-${minute(5)}/*`);
      const between = await h().client.get(`/temporal/entities/${id}?timerel=between&timeAt=${timeAt}&endTimeAt=2021-01-01T00:00:00Z&options=temporalValues`);
      expect(between.status).toBe(206);
      expect(between.headers.get('content-range')).toBe(`date-time ${timeAt}-${minute(5)}/*`);
      expect(between.body.speed.values).toHaveLength(5);
    });

    it('pages backwards with lastN, from the most recent instance, sized lastN', async () => {
      const res = await h().client.get(`/temporal/entities/${id}?lastN=8`);
      expect(res.status).toBe(206);
      // fuelLevel's fifth most recent (minute 6) is the latest cut: speed keeps minutes 6 to 8.
      expect(res.body.fuelLevel.map((i: { value: number }) => i.value)).toEqual([97, 96, 95, 94, 93]);
      expect(res.body.speed.map((i: { value: number }) => i.value)).toEqual([5, 6, 7]);
      expect(res.headers.get('content-range')).toBe(`date-time ${minute(10)}-${minute(6)}/8`);
      const before = await h().client.get(`/temporal/entities/${id}?lastN=8&timerel=before&timeAt=2021-01-01T00:00:00Z`);
      expect(before.headers.get('content-range')).toBe(`date-time 2021-01-01T00:00:00.000Z-${minute(6)}/8`);
      expect(times(before.body)[0]).toBe(minute(6));
    });

    it('answers 200 without a range when the window holds no more than the cap', async () => {
      const few = await h().client.get(`/temporal/entities/${id}?lastN=5`);
      expect(few.status).toBe(200);
      expect(few.headers.get('content-range')).toBeNull();
      const narrow = await h().client.get(`/temporal/entities/${id}?timerel=before&timeAt=${minute(4)}`);
      expect(narrow.status).toBe(200);
      expect(narrow.body.speed).toHaveLength(3);
    });

    it('applies pick and omit to id and type, and finds nothing when nothing is left', async () => {
      const picked = await h().client.get(`/temporal/entities/${id}?pick=speed&lastN=1`);
      expect(Object.keys(picked.body)).toEqual(['speed']);
      const omitted = await h().client.get(`/temporal/entities/${id}?omit=type,speed&lastN=1`);
      expect(Object.keys(omitted.body).sort()).toEqual(['fuelLevel', 'id']);
      expect((await h().client.get(`/temporal/entities/${id}?pick=unknown`)).status).toBe(404);
      expect((await h().client.get(`/temporal/entities/${id}?omit=id,type,speed,fuelLevel`)).status).toBe(404);
      expect((await h().client.get(`/temporal/entities/${id}?attrs=unknownAttribute`)).status).toBe(404);
    });

    it('pages the temporal query the same way, cutting each entity at its own time', async () => {
      const later = uniqueId('Vehicle');
      const speed = Array.from({ length: 8 }, (_, i) => ({ type: 'Property', value: i, observedAt: minute(i + 20) }));
      expect((await h().client.post('/temporal/entities', { id: later, type: 'Vehicle', speed })).status).toBe(201);
      const res = await h().client.get(`/temporal/entities?type=Vehicle&id=${id},${later}`);
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`date-time ${minute(1)}-${minute(24)}/*`);
      const other = res.body.find((e: { id: string }) => e.id === later);
      expect(other.speed.map((i: { value: number }) => i.value)).toEqual([0, 1, 2, 3, 4]);
      const post = await h().client.post('/temporal/entityOperations/query', { type: 'Query', entities: [{ id, type: 'Vehicle' }] });
      expect(post.status).toBe(206);
    });
  },
  { CIVITAS_TEMPORAL_MAX_INSTANCES: '5' },
);
