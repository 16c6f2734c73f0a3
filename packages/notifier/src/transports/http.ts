/**
 * HTTP(S) webhooks (5.3.1): a POST per notification, on keep-alive
 * connections; any 2xx answer is a success, as in the peer brokers.
 * node:http rather than fetch: on this hot path it costs a fraction of the
 * CPU per request.
 */
import http from 'node:http';
import https from 'node:https';
import { DeliveryTarget, envelope, Transport } from './transport';

export class HttpTransport implements Transport {
  private readonly agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }),
  };

  constructor(private readonly absoluteUrl: (url: string) => string) {}

  send(target: DeliveryTarget, notification: Record<string, unknown>, timeoutMs: number): Promise<void> {
    const { headers, body } = envelope(target, notification, this.absoluteUrl);
    const url = new URL(target.subscription.notification.endpoint.uri);
    const payload = Buffer.from(JSON.stringify(body));
    const client = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = client.request(
        url,
        {
          method: 'POST',
          agent: this.agents[url.protocol as 'http:' | 'https:'],
          headers: { ...headers, 'Content-Length': String(payload.length) },
          timeout: timeoutMs,
        },
        (res) => {
          // Drained, so that the connection goes back to the pool.
          res.resume();
          res.once('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else reject(new Error(`The endpoint answered ${status}`));
          });
          res.once('error', reject);
        },
      );
      req.once('timeout', () => req.destroy(new Error(`No answer within ${timeoutMs} ms`)));
      req.once('error', reject);
      req.end(payload);
    });
  }

  async close(): Promise<void> {
    this.agents['http:'].destroy();
    this.agents['https:'].destroy();
  }
}
