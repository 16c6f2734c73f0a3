/** Geo-queries (4.10) executed in PostGIS, on each store. */
import { describeEachStore } from '../support/broker';

describeEachStore('geo-queries', (h) => {
  const type = `Place${Date.now().toString(36)}`;
  const id = (n: number) => `urn:ngsi-ld:${type}:${n}`;
  // Around Madrid's Puerta del Sol (-3.7038, 40.4168); 0.001 degree of latitude is about 111 m.
  const entities = [
    { id: id(1), type, location: { type: 'Point', coordinates: [-3.7038, 40.4168] } },
    { id: id(2), type, location: { type: 'Point', coordinates: [-3.7038, 40.4188] } },
    { id: id(3), type, location: { type: 'Point', coordinates: [-3.6038, 40.4168] } },
    {
      id: id(4),
      type,
      location: { type: 'Polygon', coordinates: [[[-3.71, 40.41], [-3.69, 40.41], [-3.69, 40.43], [-3.71, 40.43], [-3.71, 40.41]]] },
      entrance: [
        { type: 'GeoProperty', value: { type: 'Point', coordinates: [0, 0] } },
        { type: 'GeoProperty', value: { type: 'Point', coordinates: [-3.7038, 40.4169] }, datasetId: 'urn:ngsi-ld:Dataset:main' },
      ],
    },
    { id: id(5), type, name: 'no location' },
  ];

  beforeAll(async () => {
    expect((await h().client.post('/entityOperations/create', entities)).status).toBe(201);
  });

  async function ids(params: Record<string, string>): Promise<number[]> {
    const qs = new URLSearchParams({ type, ...params }).toString();
    const res = await h().client.get(`/entities?${qs}`);
    expect(res.status).toBe(200);
    return res.body.map((e: { id: string }) => Number(e.id.split(':').pop())).sort();
  }

  const point = '[-3.7038,40.4168]';

  test('near with maxDistance and minDistance, in metres', async () => {
    expect(await ids({ georel: 'near;maxDistance==100', geometry: 'Point', coordinates: point })).toEqual([1, 4]);
    expect(await ids({ georel: 'near;maxDistance==300', geometry: 'Point', coordinates: point })).toEqual([1, 2, 4]);
    expect(await ids({ georel: 'near;minDistance==1000', geometry: 'Point', coordinates: point })).toEqual([3]);
  });

  test('within, contains, intersects, disjoint, equals', async () => {
    const box = '[[[-3.72,40.40],[-3.70,40.40],[-3.70,40.42],[-3.72,40.42],[-3.72,40.40]]]';
    expect(await ids({ georel: 'within', geometry: 'Polygon', coordinates: box })).toEqual([1, 2]);
    expect(await ids({ georel: 'contains', geometry: 'Point', coordinates: point })).toEqual([1, 4]);
    expect(await ids({ georel: 'intersects', geometry: 'LineString', coordinates: '[[-3.8,40.42],[-3.6,40.42]]' })).toEqual([4]);
    expect(await ids({ georel: 'disjoint', geometry: 'Polygon', coordinates: box })).toEqual([3]);
    expect(await ids({ georel: 'equals', geometry: 'Point', coordinates: '[-3.6038,40.4168]' })).toEqual([3]);
  });

  test('geoproperty picks another GeoProperty; one matching instance is enough', async () => {
    expect(await ids({ georel: 'near;maxDistance==50', geometry: 'Point', coordinates: point, geoproperty: 'entrance' })).toEqual([4]);
  });

  test('geometries follow their entity: updated and deleted entities move or leave the index', async () => {
    const moved = await h().client.patch(`/entities/${id(3)}/attrs`, { location: { type: 'GeoProperty', value: { type: 'Point', coordinates: [-3.7038, 40.4169] } } });
    expect(moved.status).toBe(204);
    expect(await ids({ georel: 'near;maxDistance==50', geometry: 'Point', coordinates: point })).toEqual([1, 3, 4]);
    expect((await h().client.delete(`/entities/${id(3)}`)).status).toBe(204);
    expect(await ids({ georel: 'near;maxDistance==50', geometry: 'Point', coordinates: point })).toEqual([1, 4]);
  });

  test('a geo-query alone is a valid query', async () => {
    const res = await h().client.get(`/entities?georel=near;maxDistance==10&geometry=Point&coordinates=${point}`);
    expect(res.body.map((e: { id: string }) => e.id)).toContain(id(1));
  });

  test.each([
    [{ georel: 'near;maxDistance==100', geometry: 'Point' }, /together/],
    [{ georel: 'near', geometry: 'Point', coordinates: point }, /maxDistance/],
    [{ georel: 'near;maxDistance==-5', geometry: 'Point', coordinates: point }, /above 0/],
    [{ georel: 'around', geometry: 'Point', coordinates: point }, /Unknown georel/],
    [{ georel: 'within', geometry: 'GeometryCollection', coordinates: point }, /geometry must be/],
    [{ georel: 'within', geometry: 'Point', coordinates: '[200,1]' }, /longitude/],
    [{ georel: 'within', geometry: 'Polygon', coordinates: '[[[0,0],[1,0],[1,1]]]' }, /ring/],
    [{ georel: 'within', geometry: 'Point', coordinates: 'nope' }, /JSON/],
  ])('invalid geo-query %j is 400 saying why', async (params, why) => {
    const res = await h().client.get(`/entities?${new URLSearchParams({ type, ...params }).toString()}`);
    expect(res.status).toBe(400);
    expect(res.body.type).toBe('https://uri.etsi.org/ngsi-ld/errors/BadRequestData');
    expect(res.body.detail).toMatch(why);
  });
});
