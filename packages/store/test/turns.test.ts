/** Turns: at most so many tasks at once, the rest first come first served. */
import { Turns } from '../src/turns';

/** A task that runs until released, recording when it starts. */
function heldTask(started: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  const run = async () => {
    started.push(name);
    await done;
    return name;
  };
  return { run, release };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('Turns', () => {
  test('runs at most its slots at once and the waiting ones in the order they came', async () => {
    const turns = new Turns(2);
    const started: string[] = [];
    const tasks = ['a', 'b', 'c', 'd'].map((name) => heldTask(started, name));
    const results = tasks.map((t) => turns.run(t.run));
    await settle();
    expect(started).toEqual(['a', 'b']);
    tasks[1].release();
    await settle();
    expect(started).toEqual(['a', 'b', 'c']);
    tasks[0].release();
    await settle();
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    tasks[2].release();
    tasks[3].release();
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd']);
  });

  test('a task that fails frees its turn and fails alone', async () => {
    const turns = new Turns(1);
    const failing = turns.run(() => Promise.reject(new Error('no')));
    const next = turns.run(async () => 'next');
    await expect(failing).rejects.toThrow('no');
    expect(await next).toBe('next');
    // Nothing is left running: a new task starts at once.
    const started: string[] = [];
    const t = heldTask(started, 'e');
    const e = turns.run(t.run);
    await settle();
    expect(started).toEqual(['e']);
    t.release();
    await e;
  });
});
