/** q and geo-queries on temporal queries are judged on the instances inside the time window (5.7.4.4). */
import { describeEachStore, uniqueId } from '../support/broker';

const IN = '2026-03-01T12:00:00Z';
const OUT = '2026-01-05T00:00:00Z';
const WINDOW = 'timerel=between&timeAt=2026-03-01T00:00:00Z&endTimeAt=2026-03-02T00:00:00Z';

describeEachStore('temporal q on windowed instances', (h) => {
  const type = `Probe${Date.now().toString(36)}`;
  const [fast, slow, texty] = [uniqueId(type), uniqueId(type), uniqueId(type)];
  beforeAll(async () => {
    const create = (body: object) => h().client.post('/temporal/entities', body);
    expect((await create({ id: fast, type, speed: [{ type: 'Property', value: 30, observedAt: IN }], heading: [{ type: 'Property', value: 45, observedAt: IN }] })).status).toBe(201);
    expect(
      (await create({
        id: slow,
        type,
        speed: [
          { type: 'Property', value: 80, observedAt: OUT },
          { type: 'Property', value: 12, observedAt: IN },
        ],
        location: [{ type: 'GeoProperty', value: { type: 'Point', coordinates: [2.35, 48.85] }, observedAt: IN }],
      })).status,
    ).toBe(201);
    expect((await create({ id: texty, type, speed: [{ type: 'Property', value: 'very', observedAt: IN }] })).status).toBe(201);
  });

  const ids = async (query: string) => {
    const res = await h().client.get(`/temporal/entities?type=${type}&${WINDOW}&${query}`);
    expect(res.status).toBe(200);
    return res.body.map((e: { id: string }) => e.id).sort();
  };

  it('lets only instances inside the window satisfy a term', async () => {
    expect(await ids('q=speed>25')).toEqual([fast]);
    expect(await ids('q=speed==10..40')).toEqual([fast, slow].sort());
    // Without a window, every instance counts.
    const all = await h().client.get(`/temporal/entities?type=${type}&q=speed>25`);
    expect(all.body.map((e: { id: string }) => e.id).sort()).toEqual([fast, slow].sort());
  });

  it('shows only the window, whatever matched', async () => {
    const res = await h().client.get(`/temporal/entities?type=${type}&${WINDOW}&q=speed==10..40`);
    expect(res.text).toContain('2026-03-01T12:00:00');
    expect(res.text).not.toContain('2026-01-05');
  });

  it('combines terms across attributes and existence', async () => {
    expect(await ids('q=speed>=5;heading<90')).toEqual([fast]);
    expect(await ids('q=!heading;speed>5')).toEqual([slow]);
    expect(await ids('q=speed>25|heading>100')).toEqual([fast]);
  });

  it('orders only values of the same type, without failing on others', async () => {
    expect(await ids('q=speed>5')).toEqual([fast, slow].sort());
    expect(await ids('q=speed>"a"')).toEqual([texty]);
  });

  it('counts the matching entities with count=true', async () => {
    const res = await h().client.get(`/temporal/entities?type=${type}&${WINDOW}&q=speed>5&count=true&limit=1`);
    expect(res.headers.get('ngsild-results-count')).toBe('2');
    expect(res.body).toHaveLength(1);
    const none = await h().client.get(`/temporal/entities?type=${type}&${WINDOW}&q=speed>500&count=true`);
    expect(none.headers.get('ngsild-results-count')).toBe('0');
  });

  it('judges a geo-query on the windowed GeoProperty instances', async () => {
    expect(await ids('georel=near;maxDistance==1000&geometry=Point&coordinates=[2.35,48.85]')).toEqual([slow]);
  });
});
