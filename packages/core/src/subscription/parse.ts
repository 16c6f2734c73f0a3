/**
 * Subscription payloads (5.2.12) -> the stored form, for create and for
 * update (5.8.2, a merge of the given members). Every malformed member is a
 * BadRequestData naming it; nothing is written before the whole is valid.
 */
import { randomUUID } from 'node:crypto';
import { badRequest } from '../errors';
import type { ActiveContext } from '../jsonld/activeContext';
import { isUri, isValidName } from '../model/names';
import { dateTime } from '../model/time';
import { parseGeoQuery } from '../query/geoQuery';
import { parseQ } from '../query/q';
import { parseScopeQuery, parseTypeExpression } from '../query/typeExpression';
import {
  DEFAULT_TRIGGERS,
  EntitySelector,
  Endpoint,
  KeyValue,
  NOTIFICATION_MEDIA_TYPES,
  NOTIFICATION_TRIGGERS,
  NotificationMediaType,
  NotificationParams,
  NotificationTrigger,
  percentDecoded,
  Subscription,
  WEBSOCKET_ENDPOINT,
} from './subscription';

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
/** In an update, null (or the NGSI-LD null) removes an optional member. */
const isNull = (v: unknown) => v === null || v === 'urn:ngsi-ld:null';

const ENDPOINT_SCHEMES = /^(https?|mqtts?):\/\//i;
const FORMATS: Record<string, NotificationParams['format']> = {
  normalized: 'normalized',
  concise: 'concise',
  keyValues: 'keyValues',
  simplified: 'keyValues',
};

/** POST /subscriptions: a whole subscription. */
export function parseSubscription(body: unknown, ctx: ActiveContext, now: string): Subscription {
  if (!isObject(body)) throw badRequest('A subscription must be a JSON object');
  if (body.type !== 'Subscription') throw badRequest('A subscription needs "type": "Subscription"');
  if (body.id !== undefined && !isUri(body.id)) throw badRequest('The subscription id must be a URI');
  if (!isObject(body.notification)) throw badRequest('A subscription needs a notification object');
  const fields = new SubscriptionFields(ctx);
  const sub: Subscription = {
    id: (body.id as string | undefined) ?? `urn:ngsi-ld:Subscription:${randomUUID()}`,
    notificationTrigger: DEFAULT_TRIGGERS,
    notification: fields.notification(body.notification),
    context: ctx.userContext,
    createdAt: now,
    modifiedAt: now,
  };
  fields.apply(sub, body, false);
  checkSubscription(sub, Date.parse(now));
  return sub;
}

/** PATCH /subscriptions/{id}: the stored subscription with the given members merged in. */
export function updateSubscription(current: Subscription, body: unknown, ctx: ActiveContext, now: string): Subscription {
  if (!isObject(body)) throw badRequest('A subscription update must be a JSON object');
  const members = Object.keys(body).filter((k) => k !== '@context');
  if (members.length === 0) throw badRequest('The subscription update is empty');
  if (body.id !== undefined && body.id !== current.id) throw badRequest('The subscription id cannot be changed');
  if (body.type !== undefined && body.type !== 'Subscription') throw badRequest('"type" must be "Subscription"');
  const fields = new SubscriptionFields(ctx);
  const next: Subscription = { ...current, modifiedAt: now };
  if (body.notification !== undefined) {
    if (!isObject(body.notification)) throw badRequest('notification must be an object');
    // A member given in an update replaces the stored one whole (5.8.2), so it needs its endpoint again.
    next.notification = fields.notification(body.notification);
  }
  fields.apply(next, body, true);
  checkSubscription(next, Date.parse(now));
  return next;
}

/** Rules that tie members together (5.2.12, 5.8.1). */
function checkSubscription(s: Subscription, now: number): void {
  if (s.entities === undefined && s.watchedAttributes === undefined) {
    throw badRequest('A subscription needs entities or watchedAttributes');
  }
  if (s.timeInterval !== undefined && s.watchedAttributes !== undefined) {
    throw badRequest('timeInterval and watchedAttributes cannot be used together');
  }
  if (s.timeInterval !== undefined && s.throttling !== undefined) {
    throw badRequest('timeInterval and throttling cannot be used together');
  }
  if (s.expiresAt !== undefined && Date.parse(s.expiresAt) <= now) throw badRequest('expiresAt must be in the future');
}

/** One parser per member, each checking its member alone. */
class SubscriptionFields {
  constructor(private readonly ctx: ActiveContext) {}

  /** Copies the members present in `body` onto `sub`; in an update, a null member is removed. */
  apply(sub: Subscription, body: Obj, update: boolean): void {
    const set = <K extends keyof Subscription>(key: K, parse: (v: unknown) => Subscription[K], removable = true) => {
      const raw = body[key];
      if (raw === undefined) return;
      if (update && isNull(raw)) {
        if (!removable) throw badRequest(`${key} cannot be removed`);
        delete sub[key];
        return;
      }
      sub[key] = parse(raw);
    };
    set('subscriptionName', (v) => this.text('subscriptionName', v));
    set('description', (v) => this.text('description', v));
    set('entities', (v) => this.entities(v));
    set('watchedAttributes', (v) => this.names('watchedAttributes', v));
    set('notificationTrigger', (v) => this.triggers(v), false);
    set('timeInterval', (v) => this.positive('timeInterval', v));
    set('q', (v) => this.check('q', v, (t) => parseQ(percentDecoded(t))));
    set('scopeQ', (v) => this.check('scopeQ', v, (t) => parseScopeQuery(t)));
    set('csf', (v) => this.check('csf', v, (t) => parseQ(t)));
    set('geoQ', (v) => this.geoQ(v));
    set('isActive', (v) => this.boolean('isActive', v), false);
    set('localOnly', (v) => this.boolean('localOnly', v));
    set('expiresAt', (v) => this.dateTime('expiresAt', v));
    set('throttling', (v) => this.positive('throttling', v));
    set('lang', (v) => this.text('lang', v));
    set('datasetId', (v) => this.datasetIds(v));
    set('jsonldContext', (v) => {
      if (!isUri(v)) throw badRequest('jsonldContext must be a URI');
      return v;
    });
  }

  notification(raw: Obj): NotificationParams {
    if (raw.endpoint === undefined) throw badRequest('notification needs an endpoint');
    const out: NotificationParams = { endpoint: this.endpoint(raw.endpoint) };
    if (raw.attributes !== undefined) out.attributes = this.names('notification.attributes', raw.attributes);
    if (raw.pick !== undefined) out.pick = this.selection('notification.pick', raw.pick);
    if (raw.omit !== undefined) out.omit = this.selection('notification.omit', raw.omit);
    // Table 5.2.14.1-1: one way of choosing attributes at a time.
    if (out.pick && out.omit) throw badRequest('notification.pick and notification.omit cannot be used together');
    if (out.attributes && (out.pick || out.omit)) throw badRequest('notification.attributes cannot be used with pick or omit');
    if (raw.format !== undefined) {
      const format = typeof raw.format === 'string' ? FORMATS[raw.format] : undefined;
      if (!format) throw badRequest(`notification.format must be one of normalized, concise, keyValues, not ${JSON.stringify(raw.format)}`);
      out.format = format;
    }
    if (raw.sysAttrs !== undefined) out.sysAttrs = this.boolean('notification.sysAttrs', raw.sysAttrs);
    if (raw.showChanges !== undefined) out.showChanges = this.boolean('notification.showChanges', raw.showChanges);
    if (raw.join !== undefined) {
      if (raw.join !== 'flat' && raw.join !== 'inline' && raw.join !== '@none') throw badRequest('notification.join must be flat, inline or @none');
      if (raw.join !== '@none') out.join = raw.join;
    }
    if (raw.joinLevel !== undefined) {
      if (!Number.isInteger(raw.joinLevel) || (raw.joinLevel as number) < 1) throw badRequest('notification.joinLevel must be a whole number above 0');
      out.joinLevel = raw.joinLevel as number;
    }
    if (out.showChanges && out.format === 'keyValues') throw badRequest('notification.showChanges cannot be used with the keyValues format');
    return out;
  }

  private endpoint(raw: unknown): Endpoint {
    if (!isObject(raw)) throw badRequest('notification.endpoint must be an object');
    const { uri } = raw;
    if (typeof uri !== 'string' || !(ENDPOINT_SCHEMES.test(uri) || uri === WEBSOCKET_ENDPOINT)) {
      throw badRequest(`notification.endpoint.uri must be an http, https, mqtt or mqtts URL (or ${WEBSOCKET_ENDPOINT})`);
    }
    try {
      new URL(uri);
    } catch {
      throw badRequest(`notification.endpoint.uri ${JSON.stringify(uri)} is not a valid URL`);
    }
    const out: Endpoint = { uri };
    if (raw.accept !== undefined) {
      if (!(NOTIFICATION_MEDIA_TYPES as readonly unknown[]).includes(raw.accept)) {
        throw badRequest(`notification.endpoint.accept must be one of ${NOTIFICATION_MEDIA_TYPES.join(', ')}`);
      }
      out.accept = raw.accept as NotificationMediaType;
    }
    if (raw.timeout !== undefined) out.timeout = this.positive('notification.endpoint.timeout', raw.timeout);
    if (raw.cooldown !== undefined) out.cooldown = this.positive('notification.endpoint.cooldown', raw.cooldown);
    if (raw.receiverInfo !== undefined) out.receiverInfo = this.keyValues('notification.endpoint.receiverInfo', raw.receiverInfo);
    if (raw.notifierInfo !== undefined) out.notifierInfo = this.keyValues('notification.endpoint.notifierInfo', raw.notifierInfo);
    return out;
  }

  private keyValues(what: string, raw: unknown): KeyValue[] {
    if (!Array.isArray(raw)) throw badRequest(`${what} must be an array of {key, value}`);
    return raw.map((kv) => {
      if (!isObject(kv) || typeof kv.key !== 'string' || kv.key === '' || typeof kv.value !== 'string') {
        throw badRequest(`${what} must be an array of {key, value} with string members`);
      }
      return { key: kv.key, value: kv.value };
    });
  }

  private entities(raw: unknown): EntitySelector[] {
    if (!Array.isArray(raw) || raw.length === 0) throw badRequest('entities must be a non-empty array');
    return raw.map((e) => {
      if (!isObject(e)) throw badRequest('Each member of entities must be an object');
      if (typeof e.type !== 'string' || e.type === '') throw badRequest('Each member of entities needs a type');
      const types = parseTypeExpression(e.type).map((all) => all.map((t) => this.ctx.expandTerm(t)));
      const selector: EntitySelector = { type: e.type, types };
      if (e.id !== undefined) {
        if (!isUri(e.id)) throw badRequest(`entities: id ${JSON.stringify(e.id)} is not a URI`);
        selector.id = e.id;
      }
      if (e.idPattern !== undefined) {
        if (typeof e.idPattern !== 'string') throw badRequest('entities: idPattern must be a string');
        try {
          new RegExp(e.idPattern);
        } catch {
          throw badRequest(`entities: idPattern ${JSON.stringify(e.idPattern)} is not a valid regular expression`);
        }
        selector.idPattern = e.idPattern;
      }
      return selector;
    });
  }

  /** Attribute names, expanded. */
  private names(what: string, raw: unknown): string[] {
    if (!Array.isArray(raw) || raw.length === 0) throw badRequest(`${what} must be a non-empty array of attribute names`);
    return raw.map((n) => {
      if (!isValidName(n)) throw badRequest(`${what}: ${JSON.stringify(n)} is not a valid attribute name`);
      return this.ctx.expandTerm(n);
    });
  }

  /** pick / omit: attribute names, or the entity's own id and type. */
  private selection(what: string, raw: unknown): string[] {
    const list = typeof raw === 'string' ? raw.split(',') : raw;
    if (!Array.isArray(list) || list.length === 0) throw badRequest(`${what} must list attribute names`);
    return list.map((n) => {
      if (n === 'id' || n === 'type') return n;
      if (!isValidName(n)) throw badRequest(`${what}: ${JSON.stringify(n)} is not a valid attribute name`);
      return this.ctx.expandTerm(n);
    });
  }

  private datasetIds(raw: unknown): string[] {
    const list = Array.isArray(raw) ? raw : [raw];
    if (list.length === 0 || !list.every((d) => d === '@none' || isUri(d))) throw badRequest('datasetId must be URIs (or @none)');
    return list as string[];
  }

  private triggers(raw: unknown): NotificationTrigger[] {
    if (!Array.isArray(raw) || raw.length === 0) throw badRequest('notificationTrigger must be a non-empty array');
    for (const t of raw) {
      if (!(NOTIFICATION_TRIGGERS as readonly unknown[]).includes(t)) {
        throw badRequest(`notificationTrigger: ${JSON.stringify(t)} is not one of ${NOTIFICATION_TRIGGERS.join(', ')}`);
      }
    }
    return [...new Set(raw as NotificationTrigger[])];
  }

  private geoQ(raw: unknown): Subscription['geoQ'] {
    if (!isObject(raw)) throw badRequest('geoQ must be an object');
    const { geometry, coordinates, georel, geoproperty } = raw;
    if (typeof geometry !== 'string' || typeof georel !== 'string') throw badRequest('geoQ needs geometry and georel strings');
    if (!(typeof coordinates === 'string' || Array.isArray(coordinates))) throw badRequest('geoQ.coordinates must be an array, or a string holding one');
    if (geoproperty !== undefined && !isValidName(geoproperty)) throw badRequest('geoQ.geoproperty must be an attribute name');
    parseGeoQuery({ georel, geometry, coordinates, geoproperty: geoproperty as string | undefined });
    return { geometry, coordinates, georel, ...(geoproperty !== undefined ? { geoproperty: geoproperty as string } : {}) };
  }

  private check(what: string, raw: unknown, parse: (text: string) => unknown): string {
    const text = this.text(what, raw);
    try {
      parse(text);
    } catch (e) {
      // In a payload a filter that does not parse is bad data, whatever the query parameter would answer (5.8.1.4).
      throw badRequest(`${what}: ${(e as Error).message}`);
    }
    return text;
  }

  private text(what: string, raw: unknown): string {
    if (typeof raw !== 'string' || raw === '') throw badRequest(`${what} must be a non-empty string`);
    return raw;
  }

  private boolean(what: string, raw: unknown): boolean {
    if (typeof raw !== 'boolean') throw badRequest(`${what} must be true or false`);
    return raw;
  }

  private positive(what: string, raw: unknown): number {
    if (typeof raw !== 'number' || !Number.isFinite(raw) || raw <= 0) throw badRequest(`${what} must be a number above 0`);
    return raw;
  }

  private dateTime(what: string, raw: unknown): string {
    const at = dateTime(raw);
    if (at === undefined) throw badRequest(`${what} must be a date-time such as 2030-01-01T00:00:00Z`);
    return at;
  }
}
