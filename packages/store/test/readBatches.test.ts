/** Coalescing of concurrent single-entity reads, without a database: which reads share a statement, and what each one gets. */
import { ReadBatches } from '../src/readBatches';

/** A fetch that holds each statement until released and answers every id it was asked for but `missing`. */
function heldFetches(missing = new Set<string>()) {
  const statements: Array<{ tenant: string; ids: string[] }> = [];
  const settle: Array<(error?: Error) => void> = [];
  const fetch = (tenant: string, ids: string[]) =>
    new Promise<Map<string, string>>((resolve, reject) => {
      statements.push({ tenant, ids });
      settle.push((error) => (error ? reject(error) : resolve(new Map(ids.filter((id) => !missing.has(id)).map((id) => [id, `${tenant}/${id}`])))));
    });
  const release = async (n: number, error?: Error) => {
    settle[n](error);
    await new Promise((r) => setImmediate(r));
  };
  return { statements, fetch, release };
}

describe('ReadBatches', () => {
  test('an idle reader fetches at once; reads that come while the lanes are busy share one statement', async () => {
    const f = heldFetches();
    const reads = new ReadBatches(1, 100, f.fetch);
    const first = reads.get('', 'a');
    expect(f.statements).toEqual([{ tenant: '', ids: ['a'] }]);
    const later = ['b', 'c', 'd'].map((id) => reads.get('', id));
    expect(f.statements).toHaveLength(1);
    await f.release(0);
    await expect(first).resolves.toBe('/a');
    expect(f.statements[1]).toEqual({ tenant: '', ids: ['b', 'c', 'd'] });
    await f.release(1);
    await expect(Promise.all(later)).resolves.toEqual(['/b', '/c', '/d']);
  });

  test('every lane takes its own statement before reads wait', () => {
    const f = heldFetches();
    const reads = new ReadBatches(2, 100, f.fetch);
    void reads.get('', 'a');
    void reads.get('', 'b');
    void reads.get('', 'c');
    expect(f.statements.map((s) => s.ids)).toEqual([['a'], ['b']]);
  });

  test('one id read twice is fetched once and given to both; a missing one reads as undefined', async () => {
    const f = heldFetches(new Set(['gone']));
    const reads = new ReadBatches(1, 100, f.fetch);
    void reads.get('', 'busy');
    const twice = [reads.get('', 'x'), reads.get('', 'x'), reads.get('', 'gone')];
    await f.release(0);
    expect(f.statements[1].ids).toEqual(['x', 'gone']);
    await f.release(1);
    await expect(Promise.all(twice)).resolves.toEqual(['/x', '/x', undefined]);
  });

  test('tenants never share a statement and are served in the order they came', async () => {
    const f = heldFetches();
    const reads = new ReadBatches(1, 100, f.fetch);
    void reads.get('', 'busy');
    const got = [reads.get('t1', 'a'), reads.get('t2', 'a'), reads.get('t1', 'b')];
    await f.release(0);
    await f.release(1);
    await f.release(2);
    expect(f.statements.slice(1)).toEqual([
      { tenant: 't1', ids: ['a', 'b'] },
      { tenant: 't2', ids: ['a'] },
    ]);
    await expect(Promise.all(got)).resolves.toEqual(['t1/a', 't2/a', 't1/b']);
  });

  test('a statement reads at most maxIds; the rest go in the next', async () => {
    const f = heldFetches();
    const reads = new ReadBatches(1, 2, f.fetch);
    void reads.get('', 'busy');
    const got = ['a', 'b', 'c'].map((id) => reads.get('', id));
    await f.release(0);
    await f.release(1);
    await f.release(2);
    expect(f.statements.slice(1).map((s) => s.ids)).toEqual([['a', 'b'], ['c']]);
    await expect(Promise.all(got)).resolves.toEqual(['/a', '/b', '/c']);
  });

  test('a tenant with more waiting than one statement takes goes behind the others', async () => {
    const f = heldFetches();
    const reads = new ReadBatches(1, 2, f.fetch);
    void reads.get('', 'busy');
    const got = [reads.get('t1', 'a'), reads.get('t1', 'b'), reads.get('t1', 'c'), reads.get('t2', 'x')];
    for (let n = 0; n < 4; n++) await f.release(n);
    expect(f.statements.slice(1)).toEqual([
      { tenant: 't1', ids: ['a', 'b'] },
      { tenant: 't2', ids: ['x'] },
      { tenant: 't1', ids: ['c'] },
    ]);
    await expect(Promise.all(got)).resolves.toEqual(['t1/a', 't1/b', 't1/c', 't2/x']);
  });

  test('a failed statement fails its reads only; the next ones still go', async () => {
    const f = heldFetches();
    const reads = new ReadBatches(1, 100, f.fetch);
    const failed = expect(reads.get('', 'a')).rejects.toThrow('connection lost');
    const next = reads.get('', 'b');
    await f.release(0, new Error('connection lost'));
    await failed;
    await f.release(1);
    await expect(next).resolves.toBe('/b');
  });
});
