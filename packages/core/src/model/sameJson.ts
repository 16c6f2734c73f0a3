/**
 * Structural equality of JSON values, whatever the order of object members;
 * a member holding undefined counts as absent. `skip` leaves members out of
 * the comparison at every depth (system timestamps, say). Cheaper than
 * comparing serialisations, which also depend on member order.
 */
export function sameJson(a: unknown, b: unknown, skip?: (member: string) => boolean): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i], skip)) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  let count = 0;
  for (const k in ao) {
    if (ao[k] === undefined || skip?.(k)) continue;
    if (!sameJson(ao[k], bo[k], skip)) return false;
    count += 1;
  }
  for (const k in bo) if (bo[k] !== undefined && !skip?.(k)) count -= 1;
  return count === 0;
}
