/**
 * Distributed retrieval and query (4.3.6, 5.7.1.4, 5.7.2.4): entities are
 * also looked up in the Context Sources whose registrations cover them, and
 * what they answer is merged with what is stored here. Registrations are respected as written
 * (4.3.6.1): only those offering the operation are asked, only for the
 * attributes they registered, with their tenant and contextSourceInfo.
 */
import { EntityParser, matchesRegistrationQuery, Registration, RegistrationQuery, StoredEntity } from '@civitas/core';
import type { IncomingHttpHeaders } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { BrokerDeps } from '../deps';
import type { NgsiRequest } from '../http/pipeline';

/** Operation groups (4.20) that include the read operations. */
const READ_GROUPS = new Set(['federationOps', 'retrieveOps', 'redirectionOps']);
const DEFAULT_TIMEOUT_MS = 5_000;

export type ReadOperation = 'retrieveEntity' | 'queryEntity';

/** Whether a registration offers `operation`; with `exactly`, by that operation or a group, not by another read. */
export function offers(r: Registration, operation: ReadOperation, exactly = false): boolean {
  const ops = r.operations ?? ['federationOps'];
  if (ops.includes(operation) || ops.some((o) => READ_GROUPS.has(o))) return true;
  // A registration offering only queries can still be asked for one entity, by a query on its id.
  return !exactly && operation === 'retrieveEntity' && (ops.includes('queryEntity') || ops.includes('queryBatch'));
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

/** One distributed request: what it was triggered by, and the warnings (6.3.17) its answers leave for the response. */
export interface Forwarding {
  deps: BrokerDeps;
  ngsi: NgsiRequest;
  /** The triggering request's headers. */
  headers: IncomingHttpHeaders;
  /** NGSILD-Warning values (6.3.17): one per source that did not answer as it should. */
  warnings: string[];
}

export function forwarding(deps: BrokerDeps, ngsi: NgsiRequest, headers: IncomingHttpHeaders): Forwarding {
  return { deps, ngsi, headers, warnings: [] };
}

/** Sets NGSILD-Warning when some source failed (6.3.17). */
export function sendWarnings(f: Forwarding, res: ServerResponse): void {
  if (f.warnings.length > 0) res.setHeader('NGSILD-Warning', f.warnings.join(', '));
}

/**
 * Asks one source (GET `path` with `params`) and hands back its JSON, or
 * undefined with a warning: 199 for no answer in time, 299 for an error
 * answer, 111 for a payload that is no JSON. A 404 is no fault.
 */
async function ask(f: Forwarding, r: Registration, path: string, params: URLSearchParams): Promise<unknown> {
  const url = new URL(`${r.endpoint.replace(/\/+$/, '')}/ngsi-ld/v1${path}`);
  for (const [k, v] of params) url.searchParams.set(k, v);
  // 4.3.6.4: a localOnly registration is asked for the source's own data only.
  if (r.management?.localOnly) url.searchParams.set('local', 'true');
  url.searchParams.set('options', 'sysAttrs');
  const warn = (code: number, text: string) => {
    f.warnings.push(`${code} ${url.host} "${text.replace(/"/g, "'")}"`);
    f.deps.log.error(new Error(`Context source ${r.endpoint} (registration ${r.id}): ${text}`));
  };
  let res: globalThis.Response;
  try {
    res = await fetch(url, { headers: sourceHeaders(f, r), signal: AbortSignal.timeout(r.management?.timeout ?? DEFAULT_TIMEOUT_MS) });
  } catch (e) {
    warn(199, `no answer: ${(e as Error).message}`);
    return undefined;
  }
  if (res.status === 404) return undefined;
  if (!res.ok) {
    warn(299, `answered ${res.status}`);
    return undefined;
  }
  try {
    return await res.json();
  } catch {
    warn(111, 'answered a payload that is no JSON');
    return undefined;
  }
}

/**
 * Entity `id` from each source, narrowed to its registered attributes (and
 * to those asked for), in the request's @context: by retrieval where the
 * registration offers it, else by a query on the id.
 */
export async function retrieveFromSources(
  f: Forwarding,
  id: string,
  sources: Array<{ r: Registration; attrs?: string[] }>,
  requested: string[] | undefined,
): Promise<Array<{ r: Registration; entity: StoredEntity }>> {
  const answers = await Promise.all(
    sources.map(async ({ r, attrs }) => {
      const wanted = narrowed(attrs, requested);
      if (wanted && wanted.length === 0) return undefined;
      const params = new URLSearchParams();
      if (wanted) params.set('attrs', wanted.map((a) => f.ngsi.ctx.compactIri(a)).join(','));
      const byQuery = !offers(r, 'retrieveEntity', true);
      if (byQuery) params.set('id', id);
      const body = await ask(f, r, byQuery ? '/entities' : `/entities/${encodeURIComponent(id)}`, params);
      const items = body === undefined ? [] : Array.isArray(body) ? body : [body];
      const entity = items.map((item) => parseRemote(f, r, item)).find((e) => e?.id === id);
      return entity ? { r, entity } : undefined;
    }),
  );
  return answers.filter((a): a is { r: Registration; entity: StoredEntity } => a !== undefined);
}

/** The attributes to ask a source for: those it registered that were asked for (undefined: all). */
function narrowed(registered: string[] | undefined, requested: string[] | undefined): string[] | undefined {
  return registered && requested ? registered.filter((a) => requested.includes(a)) : (registered ?? requested);
}

/** Binding headers a registration's contextSourceInfo cannot set (4.3.6.5). */
const PROTECTED_HEADERS = new Set(['ngsild-tenant', 'via', 'link', 'accept', 'content-length', 'content-type', 'host', 'connection', 'transfer-encoding']);

/** The headers of a distributed request: its @context, the registration's tenant and contextSourceInfo, and Via for loop detection (4.3.6.5). */
function sourceHeaders(f: Forwarding, r: Registration): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const { key, value } of r.contextSourceInfo ?? []) {
    if (PROTECTED_HEADERS.has(key.toLowerCase())) continue;
    // urn:ngsi-ld:request: the value of that header in the request that triggered this one, if it has it.
    const given = value === 'urn:ngsi-ld:request' ? f.headers[key.toLowerCase()] : value;
    if (given !== undefined) headers[key] = Array.isArray(given) ? given.join(', ') : given;
  }
  headers.Accept = 'application/json';
  headers.Via = `1.1 ${f.deps.config.contextSourceId}`;
  const link = f.headers.link;
  if (link) headers.Link = Array.isArray(link) ? link.join(', ') : link;
  if (r.tenant) headers['NGSILD-Tenant'] = r.tenant;
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
 * The entities each source holds for the client's selectors, narrowed to
 * the source's registered attributes, at most `limit` from each.
 */
export async function queryFromSources(
  f: Forwarding,
  params: Record<string, unknown>,
  sources: Array<{ r: Registration; attrs?: string[] }>,
  requested: string[] | undefined,
  limit: number,
): Promise<Array<{ r: Registration; entity: StoredEntity }>> {
  const answers = await Promise.all(
    sources.map(async ({ r, attrs }) => {
      const wanted = narrowed(attrs, requested);
      if (wanted && wanted.length === 0) return [];
      const query = new URLSearchParams();
      for (const key of FORWARDED) if (typeof params[key] === 'string') query.set(key, params[key] as string);
      if (wanted) query.set('attrs', wanted.map((a) => f.ngsi.ctx.compactIri(a)).join(','));
      query.set('limit', String(limit));
      const body = await ask(f, r, '/entities', query);
      if (body === undefined) return [];
      if (!Array.isArray(body)) {
        f.warnings.push(`111 ${new URL(r.endpoint).host} "answered a query with no entity list"`);
        return [];
      }
      return body.map((item) => parseRemote(f, r, item)).filter((e): e is StoredEntity => e !== undefined).map((entity) => ({ r, entity }));
    }),
  );
  return answers.flat();
}

/** An entity as a source answered it (normalized, with sysAttrs), parsed with the request's @context; undefined, with a warning, when it is none. */
function parseRemote(f: Forwarding, r: Registration, body: unknown): StoredEntity | undefined {
  try {
    const { createdAt, modifiedAt, ...rest } = body as Record<string, unknown>;
    const fragment = new EntityParser(f.ngsi.ctx, { requireIdAndType: true }).entity(rest);
    return { id: fragment.id!, types: fragment.types!, attrs: fragment.attrs, createdAt: String(createdAt ?? ''), modifiedAt: String(modifiedAt ?? '') };
  } catch (e) {
    f.warnings.push(`111 ${new URL(r.endpoint).host} "answered an invalid entity: ${(e as Error).message.replace(/"/g, "'")}"`);
    return undefined;
  }
}
