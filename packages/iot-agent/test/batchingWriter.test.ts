/** How the agent's writer packs entity updates into batch upserts, with a sink that holds each batch until the test answers it. */
import { BatchingWriter, WriterConfig } from '../src/northbound/batchingWriter';
import { SinkUnavailable, type EntitySink, type UpsertOutcome } from '../src/northbound/entitySink';
import type { EntityFragment } from '../src/mapping/measuresToEntity';
import { Metrics } from '../src/metrics';

interface Sent {
  tenant: string | undefined;
  /** Each update as id=value. */
  updates: string[];
  answer(error?: Error): Promise<void>;
}

function heldSink() {
  const sent: Sent[] = [];
  const sink: EntitySink = {
    destination: 'a test sink',
    upsert: (tenant, _contextUrl, entities) =>
      new Promise<UpsertOutcome>((resolve, reject) => {
        sent.push({
          tenant,
          updates: entities.map((e) => `${e.id}=${(e as unknown as { v: number }).v}`),
          answer: async (error) => {
            if (error) reject(error);
            else resolve({ rejected: [] });
            await new Promise((r) => setImmediate(r));
          },
        });
      }),
  };
  return { sent, sink };
}

const update = (id: string, v: number) => ({ id, type: 'Sensor', v }) as unknown as EntityFragment;
const quiet = { info: () => undefined, error: () => undefined };
const config = (over: Partial<WriterConfig>): WriterConfig => ({ batchSize: 3, flushMs: 60_000, bufferLimit: 100, concurrency: 2, retryBaseMs: 1, retryMaxMs: 1, ...over });

const writers: BatchingWriter[] = [];
/** Closed after each test, so that no flush timer outlives it. */
const track = (w: BatchingWriter) => (writers.push(w), w);
afterEach(async () => {
  await Promise.all(writers.splice(0).map((w) => w.close(0)));
});

describe('BatchingWriter', () => {
  test('a batch goes as soon as enough updates wait to fill it', () => {
    const s = heldSink();
    const writer = track(new BatchingWriter(s.sink, new Metrics(), quiet, config({})));
    writer.write(undefined, undefined, update('a', 1));
    writer.write(undefined, undefined, update('b', 1));
    expect(s.sent).toHaveLength(0);
    writer.write(undefined, undefined, update('c', 1));
    expect(s.sent.map((b) => b.updates)).toEqual([['a=1', 'b=1', 'c=1']]);
  });

  test('a partial batch goes after flushMs', async () => {
    const s = heldSink();
    const writer = track(new BatchingWriter(s.sink, new Metrics(), quiet, config({ flushMs: 5 })));
    writer.write(undefined, undefined, update('a', 1));
    await new Promise((r) => setTimeout(r, 30));
    expect(s.sent.map((b) => b.updates)).toEqual([['a=1']]);
  });

  test('an entity is never in two batches in flight; its waiting updates go together, in order; only its own later updates wait', async () => {
    const s = heldSink();
    const writer = track(new BatchingWriter(s.sink, new Metrics(), quiet, config({ concurrency: 2, flushMs: 5 })));
    for (const [id, v] of [['a', 1], ['b', 1]] as const) writer.write(undefined, undefined, update(id, v));
    await new Promise((r) => setTimeout(r, 30));
    expect(s.sent.map((b) => b.updates)).toEqual([['a=1', 'b=1']]);
    for (const [id, v] of [['a', 2], ['c', 1], ['b', 2], ['a', 3]] as const) writer.write(undefined, undefined, update(id, v));
    await new Promise((r) => setTimeout(r, 30));
    // The second slot takes what is free: c, not a or b, whose entities are in flight.
    expect(s.sent.map((b) => b.updates)).toEqual([['a=1', 'b=1'], ['c=1']]);
    await s.sent[0].answer();
    // Their entities free again, the held updates go in the order they came, a's two in one batch.
    expect(s.sent[2].updates).toEqual(['a=2', 'b=2', 'a=3']);
    await s.sent[1].answer();
    await s.sent[2].answer();
    await writer.idle();
  });

  test('updates of one entity fill a batch in the order they came', async () => {
    const s = heldSink();
    const writer = track(new BatchingWriter(s.sink, new Metrics(), quiet, config({ concurrency: 1 })));
    for (const v of [1, 2, 3, 4]) writer.write(undefined, undefined, update('a', v));
    expect(s.sent.map((b) => b.updates)).toEqual([['a=1', 'a=2', 'a=3']]);
    await s.sent[0].answer();
    expect(s.sent.map((b) => b.updates)).toEqual([['a=1', 'a=2', 'a=3'], ['a=4']]);
    await s.sent[1].answer();
    await writer.idle();
  });

  test('tenants never share a batch; one id in two tenants is two entities', async () => {
    const s = heldSink();
    const writer = track(new BatchingWriter(s.sink, new Metrics(), quiet, config({ concurrency: 2, flushMs: 5 })));
    writer.write('t1', undefined, update('a', 1));
    writer.write('t2', undefined, update('a', 2));
    writer.write('t1', undefined, update('b', 1));
    await new Promise((r) => setTimeout(r, 30));
    expect(s.sent.map((b) => [b.tenant, b.updates])).toEqual([
      ['t1', ['a=1', 'b=1']],
      ['t2', ['a=2']],
    ]);
    await s.sent[0].answer();
    await s.sent[1].answer();
  });

  test('a failed batch is sent again first, and the entities keep the order of their updates', async () => {
    const s = heldSink();
    const metrics = new Metrics();
    const writer = track(new BatchingWriter(s.sink, metrics, quiet, config({ concurrency: 1 })));
    for (const [id, v] of [['a', 1], ['b', 1], ['c', 1], ['a', 2]] as const) writer.write(undefined, undefined, update(id, v));
    await s.sent[0].answer(new SinkUnavailable('away'));
    await new Promise((r) => setTimeout(r, 10));
    expect(s.sent[1].updates).toEqual(['a=1', 'b=1', 'c=1']);
    await s.sent[1].answer();
    expect(s.sent[2].updates).toEqual(['a=2']);
    await s.sent[2].answer();
    await writer.idle();
    expect([metrics.writeRetries, metrics.entitiesWritten]).toEqual([1, 4]);
  });

  test('updates beyond the buffer limit, in flight ones included, are dropped and counted', () => {
    const s = heldSink();
    const metrics = new Metrics();
    const writer = track(new BatchingWriter(s.sink, metrics, quiet, config({ bufferLimit: 4, concurrency: 1 })));
    const accepted = ['a', 'b', 'c', 'd', 'e'].map((id) => writer.write(undefined, undefined, update(id, 1)));
    expect(accepted).toEqual([true, true, true, true, false]);
    expect(metrics.buffered()).toBe(4);
    expect(metrics.dropped.get('buffer_overflow')).toBe(1);
  });
});
