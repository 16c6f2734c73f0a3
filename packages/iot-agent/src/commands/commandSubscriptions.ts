/**
 * How command updates reach the agent from any NGSI-LD broker: a
 * subscription per command, watching only that attribute and firing only on
 * its update (so that the agent's own writes of `_status` and `_info`, and
 * the creation of the entity, send nothing), notifying the agent's `/notify`
 * with the service in the URL. Ids are derived from what they watch, so
 * provisioning the same thing twice updates one subscription.
 */
import { createHash } from 'node:crypto';
import type { Log } from '../northbound/batchingWriter';

/** Every command subscription of an agent has an id starting so. */
export const COMMAND_SUBSCRIPTION_PREFIX = 'urn:ngsi-ld:Subscription:civitas-iota:';

export interface CommandSelector {
  type: string;
  /** One entity (device commands), or every entity of the type (group commands). */
  id?: string;
}

export class CommandSubscriptions {
  constructor(
    private readonly brokerUrl: string,
    /** The agent's notification URL as the broker reaches it. */
    private readonly notifyUrl: string,
    private readonly log: Log,
  ) {}

  async ensure(service: string, contextUrl: string | undefined, selector: CommandSelector, command: string): Promise<void> {
    const digest = createHash('sha1').update(JSON.stringify([service, selector.type, selector.id ?? '', command])).digest('hex').slice(0, 24);
    const id = `${COMMAND_SUBSCRIPTION_PREFIX}${digest}`;
    const body = {
      entities: [selector.id ? { id: selector.id, type: selector.type } : { type: selector.type }],
      watchedAttributes: [command],
      notificationTrigger: ['attributeUpdated'],
      notification: {
        attributes: [command],
        format: 'normalized',
        endpoint: { uri: `${this.notifyUrl}?service=${encodeURIComponent(service)}`, accept: 'application/json' },
      },
    };
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (service) headers['NGSILD-Tenant'] = service;
    if (contextUrl) headers.Link = `<${contextUrl}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`;
    const base = `${this.brokerUrl}/ngsi-ld/v1/subscriptions`;
    let res = await fetch(base, { method: 'POST', headers, body: JSON.stringify({ id, type: 'Subscription', ...body }) });
    if (res.status === 409) res = await fetch(`${base}/${encodeURIComponent(id)}`, { method: 'PATCH', headers, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`The broker refused the subscription for command ${command} (${res.status}): ${(await res.text()).slice(0, 300)}`);
    this.log.info(`Command ${command} of ${selector.id ?? `every ${selector.type}`} (service "${service}") is subscribed to`);
  }
}
