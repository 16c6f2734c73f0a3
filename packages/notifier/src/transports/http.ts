/**
 * HTTP(S) webhooks (5.3.1): a POST per notification, on keep-alive
 * connections; any 2xx answer is a success, as in the peer brokers.
 * undici rather than node:http or fetch: on this hot path its client costs
 * about half the CPU per request of node:http's, and fetch more than either.
 */
import { Agent } from 'undici';
import { DeliveryTarget, envelope, Transport } from './transport';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'upgrade', 'transfer-encoding', 'expect', 'te', 'trailer', 'proxy-connection']);

export class HttpTransport implements Transport {
  /** Keep-alive connections, up to 64 per endpoint origin; undici drops an origin's pool when it goes idle. */
  private readonly agent: Agent;

  /** `ca`: the certificate authorities an HTTPS endpoint's certificate is checked against (Node.js's bundled ones by default). */
  constructor(
    private readonly absoluteUrl: (url: string) => string,
    ca?: string[],
  ) {
    this.agent = new Agent({ connections: 64, connect: ca ? { ca } : undefined });
  }

  async send(target: DeliveryTarget, notification: Record<string, unknown>, timeoutMs: number): Promise<void> {
    const { headers, body } = envelope(target, notification, this.absoluteUrl);
    const url = new URL(target.subscription.notification.endpoint.uri);
    let authorized = false;
    for (const name of Object.keys(headers)) {
      const lower = name.toLowerCase();
      // Hop-by-hop headers belong to the connection, not to the notification; undici refuses them.
      if (HOP_BY_HOP.has(lower)) delete headers[name];
      authorized ||= lower === 'authorization';
    }
    // Credentials in the URI are sent as Basic authorization unless receiverInfo gives one, as node:http did.
    if (!authorized && (url.username || url.password)) {
      headers.Authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    }
    // One deadline for connecting, sending and the answer's headers and body, as an unreachable host must not take longer.
    // Its timer is cleared with the answer: at thousands of notifications a second, timers left to fire would pile up.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), Math.ceil(timeoutMs));
    let answer;
    try {
      answer = await this.agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: deadline.signal,
      });
      // Drained, so that the connection goes back to the pool.
      await answer.body.dump();
    } catch (e) {
      throw deadline.signal.aborted ? new Error(`No answer within ${timeoutMs} ms`) : e;
    } finally {
      clearTimeout(timer);
    }
    if (answer.statusCode < 200 || answer.statusCode >= 300) throw new Error(`The endpoint answered ${answer.statusCode}`);
  }

  async close(): Promise<void> {
    await this.agent.destroy();
  }
}
