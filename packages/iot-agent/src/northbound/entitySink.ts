/**
 * Where the agent's entity updates go: plain NGSI-LD batch upserts
 * (`options=update`) to a broker over HTTP, so that the agent works in front
 * of any NGSI-LD broker. Each batch names its @context in a Link header.
 * A broker in the same process takes the same upserts without the HTTP hop.
 */
import { NgsiError } from '@civitas/core';
import type { EntityFragment } from '../mapping/measuresToEntity';

export interface UpsertOutcome {
  /** Ids the broker refused, with its reason (a 207 answer). */
  rejected: Array<{ id: string; reason: string }>;
}

export interface EntitySink {
  /** Where the updates go, for the log. */
  readonly destination: string;
  /** Resolves once the broker answered; throws SinkUnavailable when it could not be reached or failed (worth retrying). */
  upsert(tenant: string | undefined, contextUrl: string | undefined, entities: EntityFragment[]): Promise<UpsertOutcome>;
}

export class SinkUnavailable extends Error {}

/** The entities a broker refused, as a 207 answer to a batch lists them. */
export interface BatchErrors {
  errors?: Array<{ entityId: string; error: { title?: string; detail?: string } }>;
}

const rejectedOf = (outcome: BatchErrors): UpsertOutcome['rejected'] =>
  (outcome.errors ?? []).map((e) => ({ id: e.entityId, reason: e.error.detail ?? e.error.title ?? 'refused' }));

/** A whole batch refused: the broker will not take these updates however often they are sent. */
const allRejected = (entities: EntityFragment[], reason: string): UpsertOutcome => ({ rejected: entities.map((e) => ({ id: e.id, reason })) });

export class HttpEntitySink implements EntitySink {
  constructor(
    /** The broker's base URL (`http://host:1026`). */
    private readonly brokerUrl: string,
    private readonly timeoutMs = 10_000,
  ) {}

  get destination(): string {
    return this.brokerUrl;
  }

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
    if (res.status === 207) return { rejected: rejectedOf(JSON.parse(text) as BatchErrors) };
    if (res.status >= 500 || res.status === 429) throw new SinkUnavailable(`Broker answered ${res.status}: ${text.slice(0, 300)}`);
    return allRejected(entities, `${res.status}: ${text.slice(0, 300)}`);
  }
}

/** The batch upsert (`options=update`) of a broker in this process. */
export type InProcessUpsert = (request: { tenant?: string; contextUrl?: string; entities: EntityFragment[]; update: true }) => Promise<BatchErrors>;

/**
 * The broker of this process (all-in-one), called directly: no request to
 * serialize, send, route and parse for every batch. An NGSI-LD error under
 * 500 refuses the whole batch, as a 4xx answer does; any other failure (the
 * store down, say) is worth retrying.
 */
export class InProcessEntitySink implements EntitySink {
  readonly destination = 'the broker in this process';

  constructor(private readonly upsertBatch: InProcessUpsert) {}

  async upsert(tenant: string | undefined, contextUrl: string | undefined, entities: EntityFragment[]): Promise<UpsertOutcome> {
    try {
      return { rejected: rejectedOf(await this.upsertBatch({ tenant, contextUrl, entities, update: true })) };
    } catch (e) {
      if (e instanceof NgsiError && e.status < 500 && e.status !== 429) return allRejected(entities, `${e.status}: ${e.message}`);
      throw new SinkUnavailable(`Broker failed: ${(e as Error).message}`);
    }
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
