/**
 * Context Source Registration payloads (5.2.9) -> the stored form, for
 * create (5.9.2) and update (5.9.3, a merge of the given members). Every
 * malformed member is a BadRequestData naming it; nothing is stored before
 * the whole is valid.
 */
import { randomUUID } from 'node:crypto';
import { badRequest } from '../errors';
import type { ActiveContext } from '../jsonld/activeContext';
import { Geometry, geometryError } from '../model/geojson';
import { isUri, isValidName } from '../model/names';
import { NGSI_NULL, parseScopes } from '../model/parse';
import { dateTime } from '../model/time';
import { parseDuration } from '../temporal/params';
import {
  AUXILIARY_OPERATIONS,
  EntityInfo,
  OPERATIONS,
  Registration,
  REGISTRATION_MODES,
  RegistrationInfo,
  RegistrationManagement,
  RegistrationMode,
  TimeInterval,
} from './registration';

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNull = (v: unknown) => v === null || v === NGSI_NULL;

/** Members the broker writes or that name the registration itself; never Context Source Properties. */
const RESERVED = new Set(['id', '@id', 'type', '@type', '@context', 'createdAt', 'modifiedAt', 'status', 'timesSent', 'timesFailed', 'lastSuccess', 'lastFailure']);
/** Mandatory members, which an update may replace but not remove. */
const MANDATORY = new Set(['endpoint', 'information']);

/** POST /csourceRegistrations: a whole registration. */
export function parseRegistration(body: unknown, ctx: ActiveContext, now: string): Registration {
  if (!isObject(body)) throw badRequest('A context source registration must be a JSON object');
  if (body.type !== 'ContextSourceRegistration') throw badRequest('A context source registration needs "type": "ContextSourceRegistration"');
  if (body.id !== undefined && !isUri(body.id)) throw badRequest('The registration id must be a URI');
  if (body.endpoint === undefined) throw badRequest('A context source registration needs an endpoint');
  if (body.information === undefined) throw badRequest('A context source registration needs information');
  const reg = {
    id: (body.id as string | undefined) ?? `urn:ngsi-ld:ContextSourceRegistration:${randomUUID()}`,
    mode: 'inclusive',
    context: ctx.userContext,
    createdAt: now,
    modifiedAt: now,
  } as Registration;
  new RegistrationFields(ctx).apply(reg, body, false);
  checkRegistration(reg, Date.parse(now));
  return reg;
}

/** PATCH /csourceRegistrations/{id}: the stored registration with the given members merged in. */
export function updateRegistration(current: Registration, body: unknown, ctx: ActiveContext, now: string): Registration {
  if (!isObject(body)) throw badRequest('A registration update must be a JSON object');
  if (Object.keys(body).filter((k) => k !== '@context').length === 0) throw badRequest('The registration update is empty');
  if (body.id !== undefined && body.id !== current.id) throw badRequest('The registration id cannot be changed');
  if (body.type !== undefined && body.type !== 'ContextSourceRegistration') throw badRequest('"type" must be "ContextSourceRegistration"');
  const next: Registration = { ...current, properties: { ...current.properties }, modifiedAt: now };
  new RegistrationFields(ctx).apply(next, body, true);
  checkRegistration(next, Date.parse(now));
  return next;
}

/** Rules that tie members together (4.3.6, 5.9.2.4). */
function checkRegistration(r: Registration, now: number): void {
  if (r.expiresAt !== undefined && Date.parse(r.expiresAt) <= now) throw badRequest('expiresAt must be in the future');
  if (r.mode === 'auxiliary' && (!r.operations || !r.operations.every((o) => AUXILIARY_OPERATIONS.has(o)))) {
    throw badRequest('An auxiliary registration offers only retrieveOps, retrieveEntity or queryEntity (operations)');
  }
  if (r.mode === 'exclusive') {
    // 4.3.6.3: an exclusive registration names the entities (by id) and the attributes it alone provides.
    for (const info of r.information) {
      if (!info.propertyNames && !info.relationshipNames) throw badRequest('An exclusive registration names the attributes it provides');
      if (!info.entities || info.entities.some((e) => e.id === undefined)) throw badRequest('An exclusive registration names its entities by id');
    }
  }
  for (const interval of [r.observationInterval, r.managementInterval]) {
    if (interval?.endAt !== undefined && Date.parse(interval.endAt) <= Date.parse(interval.startAt)) throw badRequest('A time interval ends after it starts');
  }
}

/** One parser per member, each checking its member alone. */
class RegistrationFields {
  constructor(private readonly ctx: ActiveContext) {}

  /** Copies the members present in `body` onto `reg`; in an update, a null member is removed. */
  apply(reg: Registration, body: Obj, update: boolean): void {
    const target = reg as unknown as Obj;
    const parsers: Record<string, (v: unknown) => unknown> = {
      endpoint: (v) => {
        if (!isUri(v) || !/^https?:\/\//i.test(v)) throw badRequest('endpoint must be an http(s) URI');
        return v;
      },
      information: (v) => this.information(v),
      mode: (v) => {
        if (!REGISTRATION_MODES.includes(v as RegistrationMode)) throw badRequest(`mode must be one of ${REGISTRATION_MODES.join(', ')}`);
        return v;
      },
      operations: (v) => {
        const ops = this.strings('operations', v);
        const unknown = ops.find((o) => !OPERATIONS.has(o));
        if (unknown) throw badRequest(`operations: ${JSON.stringify(unknown)} is no operation or operation group (4.20)`);
        return ops;
      },
      registrationName: (v) => this.text('registrationName', v),
      description: (v) => this.text('description', v),
      contextSourceAlias: (v) => this.text('contextSourceAlias', v),
      tenant: (v) => this.text('tenant', v),
      contextSourceInfo: (v) => this.keyValues(v),
      datasetId: (v) => {
        const ids = this.strings('datasetId', v);
        if (!ids.every((d) => d === '@none' || isUri(d))) throw badRequest('datasetId holds URIs or @none');
        return ids;
      },
      scope: (v) => parseScopes(v),
      expiresAt: (v) => this.dateTime('expiresAt', v),
      refreshRate: (v) => this.duration('refreshRate', v),
      observationInterval: (v) => this.interval('observationInterval', v),
      managementInterval: (v) => this.interval('managementInterval', v),
      management: (v) => this.management(v),
      location: (v) => this.geometry('location', v),
      observationSpace: (v) => this.geometry('observationSpace', v),
      operationSpace: (v) => this.geometry('operationSpace', v),
    };
    for (const [key, raw] of Object.entries(body)) {
      if (RESERVED.has(key)) continue;
      const parse = parsers[key];
      if (!parse) {
        // Anything else is a Context Source Property (4.3.6.6), kept as given under its expanded name.
        if (!isValidName(key)) throw badRequest(`Invalid member name ${JSON.stringify(key)}`);
        const iri = this.ctx.expandTerm(key);
        if (update && isNull(raw)) delete reg.properties?.[iri];
        else reg.properties = { ...reg.properties, [iri]: raw };
        continue;
      }
      if (update && isNull(raw)) {
        if (MANDATORY.has(key)) throw badRequest(`${key} cannot be removed`);
        // Without a mode the registration is inclusive again.
        if (key === 'mode') target.mode = 'inclusive';
        else delete target[key];
        continue;
      }
      target[key] = parse(raw);
    }
    if (reg.properties && Object.keys(reg.properties).length === 0) delete reg.properties;
  }

  private information(raw: unknown): RegistrationInfo[] {
    if (!Array.isArray(raw) || raw.length === 0) throw badRequest('information must be a non-empty array of RegistrationInfo');
    return raw.map((item) => {
      if (!isObject(item)) throw badRequest('Every RegistrationInfo must be an object');
      const unknown = Object.keys(item).find((k) => !['entities', 'propertyNames', 'relationshipNames'].includes(k));
      if (unknown) throw badRequest(`RegistrationInfo has no member ${JSON.stringify(unknown)}`);
      const info: RegistrationInfo = {};
      if (item.entities !== undefined) {
        if (!Array.isArray(item.entities) || item.entities.length === 0) throw badRequest('RegistrationInfo.entities must be a non-empty array');
        info.entities = item.entities.map((e) => this.entityInfo(e));
      }
      if (item.propertyNames !== undefined) info.propertyNames = this.names('propertyNames', item.propertyNames);
      if (item.relationshipNames !== undefined) info.relationshipNames = this.names('relationshipNames', item.relationshipNames);
      if (!info.entities && !info.propertyNames && !info.relationshipNames) throw badRequest('A RegistrationInfo needs entities, propertyNames or relationshipNames');
      return info;
    });
  }

  private entityInfo(raw: unknown): EntityInfo {
    if (!isObject(raw)) throw badRequest('Every EntityInfo must be an object');
    const types = Array.isArray(raw.type) ? raw.type : [raw.type];
    if (types.length === 0 || !types.every((t) => typeof t === 'string' && (isValidName(t) || isUri(t)))) throw badRequest('An EntityInfo needs a type, or a list of types');
    const out: EntityInfo = { types: (types as string[]).map((t) => this.ctx.expandTerm(t)) };
    if (raw.id !== undefined) {
      if (!isUri(raw.id)) throw badRequest('EntityInfo.id must be a URI');
      out.id = raw.id;
    }
    if (raw.idPattern !== undefined) {
      if (typeof raw.idPattern !== 'string') throw badRequest('EntityInfo.idPattern must be a regular expression');
      try {
        new RegExp(raw.idPattern);
      } catch {
        throw badRequest(`EntityInfo.idPattern ${JSON.stringify(raw.idPattern)} is not a regular expression`);
      }
      out.idPattern = raw.idPattern;
    }
    return out;
  }

  private names(member: string, raw: unknown): string[] {
    const names = this.strings(member, raw);
    if (!names.every((n) => isValidName(n) || isUri(n))) throw badRequest(`${member} holds attribute names`);
    return names.map((n) => this.ctx.expandTerm(n));
  }

  private strings(member: string, raw: unknown): string[] {
    if (!Array.isArray(raw) || raw.length === 0 || !raw.every((s) => typeof s === 'string' && s !== '')) throw badRequest(`${member} must be a non-empty array of strings`);
    return raw as string[];
  }

  private text(member: string, raw: unknown): string {
    if (typeof raw !== 'string' || raw === '') throw badRequest(`${member} must be a non-empty string`);
    return raw;
  }

  /** 4.3.6.6: string keys and string values. */
  private keyValues(raw: unknown): Array<{ key: string; value: string }> {
    if (!Array.isArray(raw)) throw badRequest('contextSourceInfo must be an array of {key, value} pairs');
    return raw.map((pair) => {
      if (!isObject(pair) || typeof pair.key !== 'string' || typeof pair.value !== 'string' || Object.keys(pair).length !== 2) {
        throw badRequest('Every contextSourceInfo pair is {"key": <string>, "value": <string>}');
      }
      return { key: pair.key, value: pair.value };
    });
  }

  private dateTime(member: string, raw: unknown): string {
    const at = dateTime(raw);
    if (at === undefined) throw badRequest(`${member} must be a date-time`);
    return at;
  }

  private duration(member: string, raw: unknown): string {
    try {
      if (typeof raw === 'string' && parseDuration(raw) > 0) return raw;
    } catch {
      // Reported below with the member's name.
    }
    throw badRequest(`${member} must be an ISO 8601 duration above zero, such as PT10S`);
  }

  private interval(member: string, raw: unknown): TimeInterval {
    if (!isObject(raw) || raw.startAt === undefined) throw badRequest(`${member} needs startAt`);
    const out: TimeInterval = { startAt: this.dateTime(`${member}.startAt`, raw.startAt) };
    if (raw.endAt !== undefined) out.endAt = this.dateTime(`${member}.endAt`, raw.endAt);
    return out;
  }

  /** 5.2.34. */
  private management(raw: unknown): RegistrationManagement {
    if (!isObject(raw)) throw badRequest('management must be an object');
    const out: RegistrationManagement = {};
    for (const [key, v] of Object.entries(raw)) {
      if (key === 'localOnly') {
        if (typeof v !== 'boolean') throw badRequest('management.localOnly must be true or false');
        out.localOnly = v;
      } else if (key === 'cacheDuration') {
        out.cacheDuration = this.duration('management.cacheDuration', v);
      } else if (key === 'timeout' || key === 'cooldown') {
        if (typeof v !== 'number' || !(v > 0)) throw badRequest(`management.${key} must be a number of milliseconds above 0`);
        out[key] = v;
      } else {
        throw badRequest(`management has no member ${JSON.stringify(key)}`);
      }
    }
    return out;
  }

  private geometry(member: string, raw: unknown): Geometry {
    const error = geometryError(raw);
    if (error) throw badRequest(`${member}: ${error}`);
    return raw as Geometry;
  }
}
