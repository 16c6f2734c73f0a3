/** Grouping of concurrent mutations, without a database: which mutations share a transaction, and in what order they run. */
import { GroupMember, WriteGroups } from '../src/writeGroups';

interface Member extends GroupMember {
  name: string;
}

const member = (name: string, ids: string[], key = 'k', tenant = ''): Member => ({ name, tenant, ids, key, alone: false, reject: () => undefined });

/** A write that holds each group until released, so that tests decide when a lane frees. */
function heldWrites() {
  const groups: string[][] = [];
  const releases: Array<() => void> = [];
  const write = (group: Member[]) =>
    new Promise<void>((resolve) => {
      groups.push(group.map((m) => m.name));
      releases.push(resolve);
    });
  const release = async (n: number) => {
    releases[n]();
    // Lets the finally of the released write run and the next group start.
    await new Promise((r) => setImmediate(r));
  };
  /** Frees the lane n times over, the groups it started in between included. */
  const releaseInTurn = async (n: number) => {
    for (let k = 0; k < n; k++) await release(k);
  };
  return { groups, write, release, releaseInTurn };
}

describe('WriteGroups', () => {
  test('an idle queue writes a mutation at once; those that come while the lanes are busy go together', async () => {
    const w = heldWrites();
    const groups = new WriteGroups<Member>(1, 1000, w.write);
    groups.submit(member('a', ['1']));
    expect(w.groups).toEqual([['a']]);
    groups.submit(member('b', ['2']));
    groups.submit(member('c', ['3']));
    groups.submit(member('d', []));
    expect(w.groups).toHaveLength(1);
    await w.release(0);
    expect(w.groups).toEqual([['a'], ['b', 'c', 'd']]);
  });

  test('mutations of one entity never share a group or run side by side, and keep their order', async () => {
    const w = heldWrites();
    const groups = new WriteGroups<Member>(2, 1000, w.write);
    groups.submit(member('a', ['1']));
    groups.submit(member('b', ['1', '2']));
    // c touches 2, which b (waiting) will lock: c must not pass b.
    groups.submit(member('c', ['2']));
    groups.submit(member('d', ['3']));
    // The second lane takes d alone: b waits for a, and c waits behind b.
    expect(w.groups).toEqual([['a'], ['d']]);
    await w.release(0);
    expect(w.groups).toEqual([['a'], ['d'], ['b']]);
    await w.release(2);
    expect(w.groups).toEqual([['a'], ['d'], ['b'], ['c']]);
  });

  test('the same id in two tenants is two entities', async () => {
    const w = heldWrites();
    const groups = new WriteGroups<Member>(2, 1000, w.write);
    groups.submit(member('a', ['1'], 'k', 't1'));
    groups.submit(member('b', ['1'], 'k', 't2'));
    expect(w.groups).toEqual([['a'], ['b']]);
  });

  test('only members of one key share a group; the others wait for a lane of their own', async () => {
    const w = heldWrites();
    const groups = new WriteGroups<Member>(1, 1000, w.write);
    groups.submit(member('busy', ['0']));
    groups.submit(member('a', ['1'], 'x'));
    groups.submit(member('b', ['2'], 'y'));
    groups.submit(member('c', ['3'], 'x'));
    await w.release(0);
    expect(w.groups[1]).toEqual(['a', 'c']);
    await w.release(1);
    expect(w.groups[2]).toEqual(['b']);
  });

  test('a group reads at most maxIds entities; a larger mutation goes alone', async () => {
    const w = heldWrites();
    const groups = new WriteGroups<Member>(1, 3, w.write);
    groups.submit(member('busy', ['0']));
    groups.submit(member('a', ['1', '2']));
    groups.submit(member('b', ['3', '4']));
    groups.submit(member('big', ['5', '6', '7', '8']));
    await w.releaseInTurn(3);
    expect(w.groups.slice(1)).toEqual([['a'], ['b'], ['big']]);
  });

  test('a member marked alone is written in a group of its own; retried members go first', async () => {
    const w = heldWrites();
    const groups = new WriteGroups<Member>(1, 1000, w.write);
    groups.submit(member('busy', ['0']));
    groups.submit(member('later', ['9']));
    groups.retry([
      { ...member('x', ['1']), alone: true },
      { ...member('y', ['2']), alone: true },
    ]);
    await w.releaseInTurn(3);
    expect(w.groups.slice(1)).toEqual([['x'], ['y'], ['later']]);
  });

  test('a spare lane takes a group only when it is large; small ones wait for a regular lane', async () => {
    const w = heldWrites();
    const spareFlags: boolean[] = [];
    const groups = new WriteGroups<Member>(1, 1000, (group, spare) => (spareFlags.push(spare), w.write(group)), { lanes: 1, minIds: 3 });
    groups.submit(member('busy', ['0']));
    groups.submit(member('small', ['1']));
    expect(w.groups).toEqual([['busy']]);
    // small and big together read three entities: large enough for the spare lane.
    groups.submit(member('big', ['2', '3']));
    expect(w.groups).toEqual([['busy'], ['small', 'big']]);
    groups.submit(member('later', ['4', '5', '6']));
    expect(w.groups).toHaveLength(2);
    await w.release(1);
    expect(w.groups[2]).toEqual(['later']);
    expect(spareFlags).toEqual([false, true, true]);
    await w.release(0);
    groups.submit(member('next', ['7']));
    expect(w.groups[3]).toEqual(['next']);
    expect(spareFlags[3]).toBe(false);
  });

  test('a write that throws fails its members and frees its lane', async () => {
    const failed: string[] = [];
    const written: string[] = [];
    const groups = new WriteGroups<Member>(1, 1000, async (group) => {
      if (group.some((m) => m.name === 'bad')) throw new Error('lost connection');
      written.push(...group.map((m) => m.name));
    });
    groups.submit({ ...member('bad', ['1']), reject: (e) => failed.push((e as Error).message) });
    groups.submit(member('good', ['1']));
    await new Promise((r) => setTimeout(r, 10));
    expect(failed).toEqual(['lost connection']);
    expect(written).toEqual(['good']);
  });
});
