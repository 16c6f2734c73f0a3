/**
 * Distributed retrieval and query (4.3.6, 5.7.1.4, 5.7.2.4): entities are
 * also looked up in the Context Sources whose registrations cover them, and
 * what they answer is merged with what is stored here. Registrations are respected as written
 * (4.3.6.1): only those offering the operation are asked, only for the
 * attributes they registered, with their tenant and contextSourceInfo.
 */
import { EntityParser, matchesRegistrationQuery, Registration, RegistrationQuery, StoredEntity } from '@civitas/core';
import type { BrokerDeps } from '../deps';
import type { NgsiRequest } from '../http/pipeline';

/** Operation groups (4.20) that include the read operations. */
const READ_GROUPS = new Set(['federationOps', 'retrieveOps', 'redirectionOps']);
const DEFAULT_TIMEOUT_MS = 5_000;

export type ReadOperation = 'retrieveEntity' | 'queryEntity';

export function offers(r: Registration, operation: ReadOperation): boolean {
  const ops = r.operations ?? ['federationOps'];
  return ops.includes(operation) || ops.some((o) => READ_GROUPS.has(o));
}

/** The registrations that may provide entity `id` (of one of `types`, when known), and the attributes each one registered (undefined: any). */
export function registrationsFor(registrations: Registration[], id: string, types: string[] | undefined, operation: ReadOperation): Array<{ r: Registration; attrs?: string[] }> {
  const out: Array<{ r: Registration; attrs?: string[] }> = [];
  for (const r of registrations) {
    if (!offers(r, operation)) continue;
    let attrs: Set<string> | undefined = new Set();
    let covered = false;
    for (const info of r.information) {
      const entityMatch =
        !info.entities ||
        info.entities.some(
          (e) => (!types || e.types.some((t) => types.includes(t))) && (e.id !== undefined ? e.id === id : e.idPattern === undefined || new RegExp(e.idPattern).test(id)),
        );
      if (!entityMatch) continue;
      covered = true;
      const names = [...(info.propertyNames ?? []), ...(info.relationshipNames ?? [])];
      if (names.length === 0) attrs = undefined;
      else if (attrs) for (const n of names) attrs.add(n);
    }
    if (covered) out.push({ r, attrs: attrs ? [...attrs] : undefined });
  }
  return out;
}

/** The registrations a query may be answered from (5.10.2.4 matching, read operations offered), with their registered attributes. */
export function registrationsForQuery(registrations: Registration[], query: RegistrationQuery): Array<{ r: Registration; attrs?: string[] }> {
  return registrations
    .filter((r) => offers(r, 'queryEntity') && matchesRegistrationQuery(r, query))
    .map((r) => {
      const names = r.information.map((info) => [...(info.propertyNames ?? []), ...(info.relationshipNames ?? [])]);
      return { r, attrs: names.some((n) => n.length === 0) ? undefined : [...new Set(names.flat())] };
    });
}

/**
 * GET {endpoint}/ngsi-ld/v1/entities/{id} on each source, narrowed to its
 * registered attributes (and to those asked for), in the request's
 * @context; a source that fails or has no such entity contributes nothing.
 */
export async function retrieveFromSources(
  deps: BrokerDeps,
  ngsi: NgsiRequest,
  link: string | undefined,
  id: string,
  sources: Array<{ r: Registration; attrs?: string[] }>,
  requested: string[] | undefined,
): Promise<Array<{ r: Registration; entity: StoredEntity }>> {
  const answers = await Promise.all(
    sources.map(async ({ r, attrs }) => {
      const wanted = attrs && requested ? attrs.filter((a) => requested.includes(a)) : (attrs ?? requested);
      if (wanted && wanted.length === 0) return undefined;
      const url = new URL(`${r.endpoint.replace(/\/+$/, '')}/ngsi-ld/v1/entities/${encodeURIComponent(id)}`);
      if (wanted) url.searchParams.set('attrs', wanted.map((a) => ngsi.ctx.compactIri(a)).join(','));
      url.searchParams.set('options', 'sysAttrs');
      try {
        const res = await fetch(url, { headers: sourceHeaders(deps, r, link), signal: AbortSignal.timeout(r.management?.timeout ?? DEFAULT_TIMEOUT_MS) });
        if (!res.ok) return undefined;
        const entity = parseRemote(ngsi, (await res.json()) as Record<string, unknown>);
        return entity.id === id ? { r, entity } : undefined;
      } catch (e) {
        deps.log.error(new Error(`Context source ${r.endpoint} (registration ${r.id}) did not answer for ${id}: ${(e as Error).message}`));
        return undefined;
      }
    }),
  );
  return answers.filter((a): a is { r: Registration; entity: StoredEntity } => a !== undefined);
}

/** The headers of a distributed request: its @context, the registration's tenant and contextSourceInfo, and Via for loop detection (4.3.6.5). */
function sourceHeaders(deps: BrokerDeps, r: Registration, link: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { Accept: 'application/json', Via: `1.1 ${deps.config.contextSourceId}` };
  if (link) headers.Link = link;
  if (r.tenant) headers['NGSILD-Tenant'] = r.tenant;
  for (const { key, value } of r.contextSourceInfo ?? []) headers[key] = value;
  return headers;
}

/**
 * The entity as the sources and this broker together know it (4.3.6.2 to
 * 4.3.6.4): a redirect or exclusive source's attributes win over local
 * ones; an inclusive source's instance wins when it was observed (or
 * modified) later; an auxiliary source only fills in what nobody else has.
 */
export function mergeEntities(local: StoredEntity | undefined, remote: Array<{ r: Registration; entity: StoredEntity }>): StoredEntity | undefined {
  const ordered = [...remote].sort((a, b) => rank(a.r) - rank(b.r));
  let merged = local ? { ...local, attrs: { ...local.attrs } } : undefined;
  for (const { r, entity } of ordered) {
    if (!merged) {
      merged = { ...entity, attrs: { ...entity.attrs } };
      continue;
    }
    merged.types = [...merged.types, ...entity.types.filter((t) => !merged!.types.includes(t))];
    for (const [iri, instances] of Object.entries(entity.attrs)) {
      const list = [...(merged.attrs[iri] ?? [])];
      for (const inst of instances) {
        const at = list.findIndex((x) => x.datasetId === inst.datasetId);
        if (at < 0) list.push(inst);
        else if (r.mode === 'exclusive' || r.mode === 'redirect' || (r.mode === 'inclusive' && later(inst, list[at]))) list[at] = inst;
      }
      merged.attrs[iri] = list;
    }
  }
  return merged;
}

/** Exclusive and redirect sources are merged last, so that theirs is what stays; auxiliary ones first. */
function rank(r: Registration): number {
  return r.mode === 'auxiliary' ? 0 : r.mode === 'inclusive' ? 1 : 2;
}

function later(a: { observedAt?: string; modifiedAt?: string }, b: { observedAt?: string; modifiedAt?: string }): boolean {
  const time = (x: { observedAt?: string; modifiedAt?: string }) => Date.parse(x.observedAt ?? x.modifiedAt ?? '') || 0;
  return time(a) > time(b);
}

/** The parameters of a query that a source is asked with, as the client wrote them. */
const FORWARDED = ['type', 'id', 'idPattern', 'q', 'scopeQ', 'georel', 'geometry', 'coordinates', 'geoproperty', 'lang'];

/**
 * GET {endpoint}/ngsi-ld/v1/entities on each source with the client's
 * selectors, narrowed to the source's registered attributes, for at most
 * `limit` entities each; failures contribute nothing.
 */
export async function queryFromSources(
  deps: BrokerDeps,
  ngsi: NgsiRequest,
  link: string | undefined,
  params: Record<string, unknown>,
  sources: Array<{ r: Registration; attrs?: string[] }>,
  requested: string[] | undefined,
  limit: number,
): Promise<Array<{ r: Registration; entity: StoredEntity }>> {
  const answers = await Promise.all(
    sources.map(async ({ r, attrs }) => {
      const wanted = attrs && requested ? attrs.filter((a) => requested.includes(a)) : (attrs ?? requested);
      if (wanted && wanted.length === 0) return [];
      const url = new URL(`${r.endpoint.replace(/\/+$/, '')}/ngsi-ld/v1/entities`);
      for (const key of FORWARDED) if (typeof params[key] === 'string') url.searchParams.set(key, params[key] as string);
      if (wanted) url.searchParams.set('attrs', wanted.map((a) => ngsi.ctx.compactIri(a)).join(','));
      url.searchParams.set('limit', String(limit));
      url.searchParams.set('options', 'sysAttrs');
      try {
        const res = await fetch(url, { headers: sourceHeaders(deps, r, link), signal: AbortSignal.timeout(r.management?.timeout ?? DEFAULT_TIMEOUT_MS) });
        if (!res.ok) return [];
        const body = await res.json();
        if (!Array.isArray(body)) return [];
        return body.map((item) => ({ r, entity: parseRemote(ngsi, item) }));
      } catch (e) {
        deps.log.error(new Error(`Context source ${r.endpoint} (registration ${r.id}) did not answer a query: ${(e as Error).message}`));
        return [];
      }
    }),
  );
  return answers.flat();
}

/** An entity as a source answered it (normalized, with sysAttrs), parsed with the request's @context. */
function parseRemote(ngsi: NgsiRequest, body: Record<string, unknown>): StoredEntity {
  const { createdAt, modifiedAt, ...rest } = body;
  const fragment = new EntityParser(ngsi.ctx, { requireIdAndType: true }).entity(rest);
  return { id: fragment.id!, types: fragment.types!, attrs: fragment.attrs, createdAt: String(createdAt ?? ''), modifiedAt: String(modifiedAt ?? '') };
}
