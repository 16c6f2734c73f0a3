/** HTTP(S) webhooks (5.3.1): a POST per notification; any 2xx answer is a success, as in the peer brokers. */
import { DeliveryTarget, envelope, Transport } from './transport';

export class HttpTransport implements Transport {
  constructor(private readonly absoluteUrl: (url: string) => string) {}

  async send(target: DeliveryTarget, notification: Record<string, unknown>, timeoutMs: number): Promise<void> {
    const { headers, body } = envelope(target, notification, this.absoluteUrl);
    const response = await fetch(target.subscription.notification.endpoint.uri, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    // Drained, so that the connection goes back to the keep-alive pool.
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) throw new Error(`The endpoint answered ${response.status}`);
  }

  async close(): Promise<void> {}
}
