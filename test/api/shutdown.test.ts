/** Stopping a broker: requests in flight are answered before the listener goes, and nothing new is taken. */
import { request } from 'node:http';
import { storeKinds, startOn, uniqueId } from '../support/broker';

/** POSTs `body` in two halves, calling `between` once the first half has reached the broker. */
function postInHalves(url: string, body: string, between: () => void): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    const half = Math.floor(body.length / 2);
    req.write(body.slice(0, half), () => {
      // The broker is reading this request's body when it is told to stop.
      setTimeout(() => {
        between();
        setTimeout(() => req.end(body.slice(half)), 100);
      }, 100);
    });
  });
}

for (const kind of storeKinds()) {
  describe(`stopping the broker [${kind.name}]`, () => {
    test('a request in flight is answered and its write kept; new connections are refused', async () => {
      const { harness, cleanup } = await startOn(kind);
      try {
        const ids = Array.from({ length: 200 }, () => uniqueId('Stopping'));
        const body = JSON.stringify(ids.map((id) => ({ id, type: 'Stopping', n: { type: 'Property', value: 1 } })));
        let stopped: Promise<void> | undefined;
        const answer = await postInHalves(`${harness.broker.url}/ngsi-ld/v1/entityOperations/create`, body, () => {
          stopped = harness.broker.close();
        });
        expect(answer.status).toBe(201);
        await stopped;
        await expect(fetch(`${harness.broker.url}/ngsi-ld/v1/types`)).rejects.toThrow();
        // The broker left its store open (it did not open it): the write is there.
        const stored = await harness.store.queryEntities('', { ids, limit: 1000, offset: 0, count: true });
        expect(stored.count).toBe(ids.length);
      } finally {
        await cleanup();
      }
    });

    test('a stopped broker leaves no timer behind that would keep its process alive', async () => {
      const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      const before = timers();
      const { harness, cleanup } = await startOn(kind);
      try {
        await harness.client.get('/types');
        await harness.broker.close();
      } finally {
        await cleanup();
      }
      expect(timers()).toBeLessThanOrEqual(before);
    });
  });
}
