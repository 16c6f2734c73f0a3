/**
 * The shared shape of the batch operations (5.6.7 - 5.6.10, 5.6.20): every
 * element is parsed on its own, all valid ones are applied in one store
 * transaction (one statement per kind of write), and each failure is
 * reported against its entity without blocking the others.
 */
import type { ServerResponse } from 'node:http';
import {
  ActiveContext,
  badRequest,
  ContextSource,
  EntityFragment,
  EntityParser,
  NgsiError,
  nowIso,
  ParseMode,
  ProblemDetails,
  StoredEntity,
} from '@civitas/core';
import type { Intermediates, MutateOptions } from '@civitas/store';
import { toNgsiError } from '../http/problem';
import type { BrokerDeps } from '../deps';
import { checkElementContext, NgsiRequest } from '../http/pipeline';
import { sendJson, sendNoContent } from '../http/respond';

export interface BatchError {
  entityId: string;
  error: ProblemDetails;
}

export interface BatchOutcome {
  success: string[];
  errors: BatchError[];
}

/** What applying one element did to the working state. */
export type ElementEffect = { entity: StoredEntity; created: boolean; error?: NgsiError } | { deleted: true } | NgsiError;

export interface ParsedElement {
  id: string;
  fragment?: EntityFragment;
  error?: NgsiError;
}

export function requireArray(body: unknown): unknown[] {
  if (!Array.isArray(body) || body.length === 0) throw badRequest('A batch body must be a non-empty JSON array');
  if (body.some((e) => e === null || typeof e !== 'object')) throw badRequest('Every element of a batch must be an entity object');
  return body;
}

/** Parses each element with its own @context (ld+json) or the request's. */
export async function parseElements(deps: BrokerDeps, ngsi: Pick<NgsiRequest, 'body' | 'ldBody' | 'ctx'>, mode: ParseMode): Promise<ParsedElement[]> {
  const elements = requireArray(ngsi.body);
  const parsed: ParsedElement[] = [];
  for (const element of elements) {
    const id = typeof element === 'object' && element !== null ? String((element as Record<string, unknown>).id ?? (element as Record<string, unknown>)['@id'] ?? '') : '';
    try {
      checkElementContext(element, ngsi.ldBody);
      const ctx: ActiveContext = ngsi.ldBody
        ? await deps.contexts.resolve((element as { '@context': ContextSource })['@context'])
        : ngsi.ctx;
      const fragment = new EntityParser(ctx, mode).entity(element);
      if (!fragment.id) throw badRequest('The entity has no id');
      parsed.push({ id: fragment.id, fragment });
    } catch (e) {
      parsed.push({ id, error: toNgsiError(e, deps.log.error) });
    }
  }
  return parsed;
}

/**
 * Runs `apply` over the elements against the stored entities, in order, so
 * that an id repeated in one batch sees the effect of its earlier element.
 */
export async function runBatch(
  deps: BrokerDeps,
  tenant: string,
  elements: ParsedElement[],
  apply: (element: ParsedElement, current: StoredEntity | undefined, now: string) => ElementEffect,
  options: MutateOptions,
): Promise<BatchOutcome & { created: string[] }> {
  const valid = elements.filter((e) => !e.error);
  const ids = [...new Set(valid.map((e) => e.id))];
  const outcome = await deps.store.mutate(
    tenant,
    ids,
    (stored) => {
      const now = nowIso();
      const working = new Map(stored);
      // The states each entity passes through, for the ids the batch changes more than once (10.3.3: in array order).
      const passed = new Map<string, Array<StoredEntity | null>>();
      const results = new Map<ParsedElement, NgsiError | 'ok'>();
      const created: string[] = [];
      for (const element of valid) {
        const effect = apply(element, working.get(element.id), now);
        if (effect instanceof NgsiError) {
          results.set(element, effect);
          continue;
        }
        const state = 'deleted' in effect ? null : effect.entity;
        // An element that changes nothing may still have something to report (noOverwrite keeping every attribute).
        const verdict = ('error' in effect && effect.error) || 'ok';
        if (state === (working.get(element.id) ?? null)) {
          results.set(element, verdict);
          continue;
        }
        const states = passed.get(element.id);
        if (states) states.push(state);
        else passed.set(element.id, [state]);
        if (!state) {
          working.delete(element.id);
          results.set(element, 'ok');
        } else {
          working.set(element.id, state);
          if ('created' in effect && effect.created) created.push(element.id);
          results.set(element, verdict);
        }
      }
      const inserts: StoredEntity[] = [];
      const upserts: StoredEntity[] = [];
      const deletes: string[] = [];
      const intermediates: Intermediates = new Map();
      for (const id of ids) {
        const next = working.get(id);
        if (!next) {
          if (stored.has(id)) deletes.push(id);
          else continue;
        } else if (next !== stored.get(id)) {
          (stored.has(id) ? upserts : inserts).push(next);
        } else continue;
        const states = passed.get(id)!;
        if (states.length > 1) intermediates.set(id, states.slice(0, -1));
      }
      return { inserts, upserts, deletes, intermediates, result: { results, created } };
    },
    options,
  );
  const conflicted = new Set(outcome.conflicts);
  const success: string[] = [];
  const errors: BatchError[] = [];
  for (const element of elements) {
    const r = element.error ?? outcome.result.results.get(element);
    if (r instanceof NgsiError) errors.push({ entityId: element.id, error: r.toProblem() });
    else if (conflicted.has(element.id)) errors.push({ entityId: element.id, error: new NgsiError('AlreadyExists', `Entity ${element.id} already exists`).toProblem() });
    else success.push(element.id);
  }
  return { success, errors, created: outcome.result.created.filter((id) => !conflicted.has(id)) };
}

/** 207 with per-entity results when anything failed; otherwise the operation's own success answer. */
export function sendBatch(res: ServerResponse, outcome: BatchOutcome, onSuccess: () => void): void {
  if (outcome.errors.length > 0) {
    sendJson(res, 207, { success: outcome.success, errors: outcome.errors });
    return;
  }
  onSuccess();
}

export function sendIds(res: ServerResponse, ids: string[]): void {
  if (ids.length === 0) sendNoContent(res);
  else sendJson(res, 201, ids);
}
