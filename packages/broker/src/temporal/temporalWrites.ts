/** What the temporal provision operations share: instances of a temporal payload, stamped for the history. */
import { badRequest, EntityFragment, isUri, nowIso, stamp } from '@civitas/core';
import type { NewHistoryInstance } from '@civitas/store';
import type { ApiRequest } from '../http/apiRequest';

/** Every instance of every attribute of a temporal fragment, with its system timestamps. */
export function historyInstancesOf(fragment: EntityFragment): NewHistoryInstance[] {
  const now = nowIso();
  return Object.entries(fragment.attrs).flatMap(([attr, instances]) => instances.map((instance) => ({ attr, instance: stamp(instance, now) })));
}

/**
 * The instance id of the URL (`urn:ngsi-ld:attribute:instance:<n>`, or the
 * bare number); undefined for a URI this broker never gives an instance,
 * which names none of them (404), where a value that is no URI is refused (400).
 */
export function instanceIdParam(req: ApiRequest): string | undefined {
  const raw = req.params.instanceId;
  const m = /^(?:urn:ngsi-ld:attribute:instance:)?(\d+)$/.exec(raw);
  if (m) return m[1];
  if (isUri(raw)) return undefined;
  throw badRequest(`${JSON.stringify(raw)} is not an instance id`);
}
