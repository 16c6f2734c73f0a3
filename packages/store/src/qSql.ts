/**
 * q expression tree -> SQL condition on the entities table (4.9). Every
 * user value travels as a parameter; attribute names are expanded by the
 * caller's function (the request's @context).
 *
 * Semantics kept from the specification: any instance of a multi-instance
 * attribute may satisfy a term; `==` on an array value means "contains";
 * values of another JSON type never match, except for `!=`, where they are
 * unequal and so match; Relationship targets only compare with == and !=.
 */
import { ATTRIBUTE_METADATA, badRequest, QExpression, QOperator, QPath, QScalar, QValue } from '@civitas/core';

/** Collects parameters and hands back their placeholders. */
export class SqlParams {
  /** `values`: parameters already bound, which the new ones follow. */
  constructor(readonly values: unknown[] = []) {}

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

const ORDERING: Record<string, string> = { '>': '>', '>=': '>=', '<': '<', '<=': '<=' };

/**
 * Rows with at least one of the attributes named by `names` (an SQL text[]):
 * for stored entities of the tenant `tenantParam`, looked up in
 * entity_attrs, whose index answers it; for other rows, read from their attrs.
 */
export function hasAnyAttribute(names: string, tenantParam: string | undefined): string {
  if (tenantParam === undefined) return `(attrs ?| ${names})`;
  return `id IN (SELECT entity_id FROM entity_attrs WHERE tenant = ${tenantParam} AND attr = ANY(${names}))`;
}

/** `hasAnyAttribute` for one name (an SQL text). */
function hasAttribute(name: string, tenantParam: string | undefined): string {
  if (tenantParam === undefined) return `(attrs ? ${name})`;
  return `id IN (SELECT entity_id FROM entity_attrs WHERE tenant = ${tenantParam} AND attr = ${name})`;
}

/**
 * `tenantParam` names the tenant for look-ups in entity_values and entity_attrs; without it
 * the condition reads only the attrs document (rows that are not stored
 * entities, such as the states the outbox recorded). `linkTenant` names the
 * tenant whose stored entities linked paths (`rel{attr}`) follow.
 */
export function compileQ(
  expression: QExpression,
  expand: (name: string) => string,
  params: SqlParams,
  tenantParam: string | undefined,
  linkTenant: string | undefined = tenantParam,
): string {
  const recurse = (e: QExpression) => compileQ(e, expand, params, tenantParam, linkTenant);
  switch (expression.kind) {
    case 'and':
      return `(${expression.terms.map(recurse).join(' AND ')})`;
    case 'or':
      return `(${expression.terms.map(recurse).join(' OR ')})`;
    case 'exists': {
      const test = expression.path.linked ? linked(expression, expand, params, tenantParam, linkTenant) : existence(expression.path, expand, params, tenantParam);
      return expression.negated ? `NOT ${test}` : test;
    }
    case 'term': {
      if (expression.path.linked) return linked(expression, expand, params, tenantParam, linkTenant);
      const indexed = tenantParam === undefined ? undefined : valueIndexLookup(expression, expand, params, tenantParam);
      if (indexed) return indexed;
      const { key, instances, target, isRelationship } = locate(expression.path, expand, params);
      const comparison = compare(target, expression.op, expression.value, params);
      // Only == and != look at Relationship targets (4.9).
      const guard = expression.op === '==' || expression.op === '!=' ? '' : ` AND NOT ${isRelationship}`;
      // The attribute's presence narrows the rows (through entity_attrs) before any JSON is unpacked.
      return `(${hasAttribute(key, tenantParam)} AND EXISTS (SELECT 1 FROM ${instances} WHERE ${target} IS NOT NULL${guard} AND ${comparison}))`;
    }
  }
}

/**
 * A term on a linked entity (`rel{[Type:]path}`, 4.9): some entity that an
 * instance of the Relationship `rel` points at (of one of the hinted types)
 * satisfies the term on `path`. The inner condition is compiled as for any
 * stored entity; its unqualified columns then name the target row `t`.
 */
function linked(
  term: Extract<QExpression, { kind: 'term' | 'exists' }>,
  expand: (name: string) => string,
  params: SqlParams,
  tenantParam: string | undefined,
  tenant: string | undefined,
): string {
  const link = term.path.linked!;
  if (tenant === undefined) throw badRequest('A q on linked entities (rel{attr}) is not available here');
  const rel = params.add(expand(term.path.attribute));
  const inner = compileQ(term.kind === 'exists' ? { ...term, path: link.path, negated: false } : { ...term, path: link.path }, expand, params, tenant, tenant);
  const types = link.types ? ` AND t.types && ${params.add(link.types.map(expand))}::text[]` : '';
  const targets = `jsonb_array_elements_text(CASE jsonb_typeof(r -> 'object') WHEN 'array' THEN r -> 'object' WHEN 'string' THEN jsonb_build_array(r -> 'object') ELSE '[]'::jsonb END) AS o(target)`;
  return `(${hasAttribute(rel, tenantParam)} AND EXISTS (SELECT 1 FROM jsonb_array_elements(attrs -> ${rel}) AS r, ${targets}, entities t
    WHERE t.tenant = ${tenant} AND t.id = o.target AND (t.expires_at IS NULL OR t.expires_at > now())${types} AND ${inner}))`;
}

/**
 * Comparisons of numbers and strings on a first-level attribute read
 * entity_values, where btree indexes answer them. This is the JSON
 * semantics exactly: `==` matches the value or an element of an array
 * value (any attribute kind), ordering and ranges match whole values of
 * attributes other than relationships. `!=` stays with the JSON, since any
 * one unequal instance satisfies it.
 */
function valueIndexLookup(term: Extract<QExpression, { kind: 'term' }>, expand: (name: string) => string, params: SqlParams, tenantParam: string): string | undefined {
  const { path, op, value } = term;
  if (path.members.length > 0 || path.compound.length > 0) return undefined;
  const scalars = value.kind === 'range' ? [value.min, value.max] : value.kind === 'list' ? value.items : [value];
  const kind = scalars[0].kind;
  if ((kind !== 'number' && kind !== 'string') || scalars.some((s) => s.kind !== kind)) return undefined;
  const column = kind === 'number' ? 'v.num' : 'v.txt';
  const cast = kind === 'number' ? '::double precision' : '::text';
  const p = (s: QScalar) => `${params.add(s.value)}${cast}`;
  let condition: string;
  if (op === '==' && value.kind === 'range') condition = `v.whole AND NOT v.rel AND ${column} >= ${p(value.min)} AND ${column} <= ${p(value.max)}`;
  else if (op === '==') condition = `${column} IN (${scalars.map(p).join(', ')})`;
  else if (ORDERING[op] && value.kind !== 'range' && value.kind !== 'list') condition = `v.whole AND NOT v.rel AND ${column} ${ORDERING[op]} ${p(value)}`;
  else return undefined;
  return `id IN (SELECT v.entity_id FROM entity_values v WHERE v.tenant = ${tenantParam} AND v.attr = ${params.add(expand(path.attribute))} AND ${condition})`;
}

function existence(path: QPath, expand: (name: string) => string, params: SqlParams, tenantParam: string | undefined): string {
  if (path.members.length === 0 && path.compound.length === 0) return hasAttribute(params.add(expand(path.attribute)), tenantParam);
  const { key, instances, target } = locate(path, expand, params);
  return `(${hasAttribute(key, tenantParam)} AND EXISTS (SELECT 1 FROM ${instances} WHERE ${target} IS NOT NULL))`;
}

/**
 * The set of attribute instances a path starts from, and the JSON
 * expression (over one instance `i`) that the path designates.
 */
function locate(path: QPath, expand: (name: string) => string, params: SqlParams) {
  const key = params.add(expand(path.attribute));
  const instances = `jsonb_array_elements(attrs -> ${key}) AS i`;
  return { key, instances, ...pathTarget('i', path, expand, params) };
}

/**
 * The JSON a path designates within one attribute instance (`instance`, an
 * SQL expression): a sub-attribute's value, a metadata member, a member of a
 * compound value, or the values of every language.
 */
export function pathTarget(instance: string, path: QPath, expand: (name: string) => string, params: SqlParams): { target: string; isRelationship: string } {
  let node = instance;
  const members = [...path.members];
  const last = members[members.length - 1];
  const metadata = last !== undefined && ATTRIBUTE_METADATA.has(last) ? members.pop() : undefined;
  for (const sub of members) node = `${node} -> 'sub' -> ${params.add(expand(sub))}`;
  const isRelationship = `coalesce(${node} ->> 'type' IN ('Relationship', 'ListRelationship'), false)`;
  if (metadata) return { target: `(${node} -> ${params.add(metadata)})`, isRelationship };
  let target = `coalesce(${node} -> 'value', ${node} -> 'object', ${node} -> 'vocab', ${node} -> 'valueList', ${node} -> 'objectList', ${node} -> 'json', ${node} -> 'languageMap')`;
  if (path.compound.length === 1 && path.compound[0] === '*') {
    // Every language's value, as an array: == then matches any of them.
    target = `(SELECT jsonb_agg(l.value) FROM jsonb_each(${node} -> 'languageMap') AS l)`;
  } else if (path.compound.length > 0) {
    // Compound values are stored with expanded member names; JSON and language maps keep theirs.
    const expanded = path.compound.map((c) => params.add(path.jsonKeys ? c : expand(c)));
    const raw = path.compound.map((c) => params.add(c));
    target = `coalesce(${node} -> 'value' -> ${expanded.join(' -> ')}, ${node} -> 'json' -> ${raw.join(' -> ')}, ${node} -> 'languageMap' -> ${raw.join(' -> ')})`;
  }
  return { target: `(${target})`, isRelationship };
}

function compare(v: string, op: QOperator, value: QValue, params: SqlParams): string {
  if (value.kind === 'range') {
    const inside = `(${scalarCompare(v, '>=', value.min, params)} AND ${scalarCompare(v, '<=', value.max, params)})`;
    return op === '!=' ? `NOT coalesce(${inside}, false)` : inside;
  }
  if (value.kind === 'list') {
    const any = `(${value.items.map((item) => scalarCompare(v, '==', item, params)).join(' OR ')})`;
    return op === '!=' ? `NOT coalesce(${any}, false)` : any;
  }
  if (op === '!=') return `NOT coalesce(${scalarCompare(v, '==', value, params)}, false)`;
  if (op === '!~=') return `NOT coalesce(${scalarCompare(v, '~=', value, params)}, false)`;
  return scalarCompare(v, op, value, params);
}

function scalarCompare(v: string, op: QOperator, value: QScalar, params: SqlParams): string {
  if (op === '~=') {
    return `(jsonb_typeof(${v}) = 'string' AND ${v} #>> '{}' ~ ${params.add(value.value)})`;
  }
  switch (value.kind) {
    case 'number': {
      const n = `${params.add(value.value)}::numeric`;
      if (op === '==') return `(${v} = to_jsonb(${n}) OR (jsonb_typeof(${v}) = 'array' AND ${v} @> jsonb_build_array(${n})))`;
      // CASE, not AND: the planner may evaluate a cast before the type test that guards it.
      return `(CASE WHEN jsonb_typeof(${v}) = 'number' THEN (${v})::numeric END ${ORDERING[op]} ${n})`;
    }
    case 'boolean':
      return op === '==' ? `(${v} = ${params.add(JSON.stringify(value.value))}::jsonb)` : 'false';
    case 'dateTime': {
      // Typed values ({"@type": "DateTime", "@value": ...}) compare by their @value.
      const text = `coalesce(${v} ->> '@value', ${v} #>> '{}')`;
      const t = `${params.add(value.value)}::timestamptz`;
      const isTime = `(${text} ~ '^\\d{4}-\\d{2}-\\d{2}')`;
      const cmp = op === '==' ? '=' : ORDERING[op];
      return `(${isTime} AND (CASE WHEN ${isTime} THEN (${text})::timestamptz END) ${cmp} ${t})`;
    }
    case 'string': {
      const s = params.add(value.value);
      if (op === '==') return `(${v} = to_jsonb(${s}::text) OR (jsonb_typeof(${v}) = 'array' AND ${v} @> jsonb_build_array(${s}::text)))`;
      return `(jsonb_typeof(${v}) = 'string' AND ${v} #>> '{}' ${ORDERING[op]} ${s})`;
    }
  }
}
