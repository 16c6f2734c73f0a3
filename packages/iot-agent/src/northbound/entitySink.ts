/**
 * Where the agent's entity updates go: plain NGSI-LD batch upserts
 * (`options=update`) to a broker over HTTP, so that the agent works in front
 * of any NGSI-LD broker. Each batch names its @context in a Link header.
 */
import type { EntityFragment } from '../mapping/measuresToEntity';

export interface UpsertOutcome {
  /** Ids the broker refused, with its reason (a 207 answer). */
  rejected: Array<{ id: string; reason: string }>;
}

export interface EntitySink {
  /** Resolves once the broker answered; throws SinkUnavailable when it could not be reached or failed (worth retrying). */
  upsert(tenant: string | undefined, contextUrl: string | undefined, entities: EntityFragment[]): Promise<UpsertOutcome>;
}

export class SinkUnavailable extends Error {}

export class HttpEntitySink implements EntitySink {
  constructor(
    /** The broker's base URL (`http://host:1026`). */
    private readonly brokerUrl: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async upsert(tenant: string | undefined, contextUrl: string | undefined, entities: EntityFragment[]): Promise<UpsertOutcome> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (tenant) headers['NGSILD-Tenant'] = tenant;
    if (contextUrl) headers.Link = `<${contextUrl}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`;
    let res: Response;
    try {
      res = await fetch(`${this.brokerUrl}/ngsi-ld/v1/entityOperations/upsert?options=update`, {
        method: 'POST',
        headers,
        body: JSON.stringify(entities),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new SinkUnavailable(`Broker unreachable: ${(e as Error).message}`);
    }
    const text = await res.text();
    if (res.status === 201 || res.status === 204 || res.status === 200) return { rejected: [] };
    if (res.status === 207) {
      const body = JSON.parse(text) as { errors?: Array<{ entityId: string; error: { title?: string; detail?: string } }> };
      return { rejected: (body.errors ?? []).map((e) => ({ id: e.entityId, reason: e.error.detail ?? e.error.title ?? 'refused' })) };
    }
    if (res.status >= 500 || res.status === 429) throw new SinkUnavailable(`Broker answered ${res.status}: ${text.slice(0, 300)}`);
    // A 4xx for the whole batch: the broker will not take these updates however often they are sent.
    return { rejected: entities.map((e) => ({ id: e.id, reason: `${res.status}: ${text.slice(0, 300)}` })) };
  }
}

/**
 * Creates the entity, or adds to an existing one only the attributes it
 * lacks (`options=noOverwrite`), leaving what is there untouched: how the
 * agent sets up a device's entity when it is provisioned.
 */
export async function createOrComplete(brokerUrl: string, tenant: string | undefined, contextUrl: string | undefined, entity: EntityFragment): Promise<void> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (tenant) headers['NGSILD-Tenant'] = tenant;
  if (contextUrl) headers.Link = `<${contextUrl}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"`;
  const created = await fetch(`${brokerUrl}/ngsi-ld/v1/entities`, { method: 'POST', headers, body: JSON.stringify(entity) });
  if (created.status === 201) return;
  if (created.status !== 409) throw new Error(`Creating ${entity.id} failed (${created.status}): ${(await created.text()).slice(0, 300)}`);
  const { id: _id, type: _type, ...attributes } = entity;
  const res = await fetch(`${brokerUrl}/ngsi-ld/v1/entities/${encodeURIComponent(entity.id)}/attrs?options=noOverwrite`, {
    method: 'POST',
    headers,
    body: JSON.stringify(attributes),
  });
  // 207: some attributes existed already, which is the point of noOverwrite.
  if (!res.ok && res.status !== 207) throw new Error(`Completing ${entity.id} failed (${res.status}): ${(await res.text()).slice(0, 300)}`);
}
