/**
 * The FIWARE IoT Agent provisioning API: config groups on `/iot/services`,
 * devices on `/iot/devices`, with the request bodies, status codes and error
 * shapes FIWARE agents use, so that existing provisioning scripts and tools
 * work unchanged. `fiware-service` / `fiware-servicepath` scope every call;
 * the service is the NGSI-LD tenant the devices' entities go to.
 */
import { Router, Request } from 'express';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { ConfigGroupRecord, DeviceRecord, ServiceScope } from '@civitas/store';
import type { DeviceRegistry } from './registry';
import { groupForDevice, groupOf } from './registry';
import type { ModelCatalog } from '../mapping/smartDataModels';
import { defaultEntityId, entityTypeOf } from '../mapping/deviceProfile';
import { checkExpression } from '../mapping/expressions';
import { CONFIG_GROUP_SCHEMA, ConfigGroup, Device, DEVICE_SCHEMA } from './model';
import {
  badRequest,
  deviceNotFound,
  duplicateDevice,
  duplicateGroup,
  groupNotFound,
  missingHeaders,
  missingParameters,
  wrongSyntax,
} from './errors';

/** What the agent does when provisioning changes (entities to create, command subscriptions to keep). */
export interface ProvisioningHooks {
  devicesProvisioned(devices: DeviceRecord[]): Promise<void>;
  groupsProvisioned(groups: ConfigGroupRecord[]): Promise<void>;
}

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validateGroup = ajv.compile(CONFIG_GROUP_SCHEMA);
// Updates are partial: every field optional (a device's id is refused before validation).
const validateGroupUpdate = ajv.compile({ ...CONFIG_GROUP_SCHEMA, required: [] });
const validateDevice = ajv.compile(DEVICE_SCHEMA);
const validateDeviceUpdate = ajv.compile({ ...DEVICE_SCHEMA, required: [] });

function check(validate: ReturnType<typeof ajv.compile>, value: unknown, what: string): void {
  if (!validate(value)) {
    const detail = (validate.errors ?? []).map((e) => `${what}${e.instancePath} ${e.message}`).join('; ');
    throw wrongSyntax(detail);
  }
}

/** Expressions are checked when provisioned, not first met on a measure. */
function checkExpressions(settings: ConfigGroup | Device | Partial<ConfigGroup>, models: ModelCatalog): void {
  const expressions = [
    ...(settings.attributes ?? []).map((a) => a.expression),
    typeof settings.explicitAttrs === 'string' ? settings.explicitAttrs : undefined,
    (settings as ConfigGroup).entityNameExp,
  ];
  for (const e of expressions) {
    const problem = e === undefined ? undefined : checkExpression(e);
    if (problem) throw wrongSyntax(`expression "${e}": ${problem}`);
  }
  const model = (settings as ConfigGroup).model;
  if (model !== undefined && !models.get(model)) {
    throw badRequest(`Unknown Smart Data Model "${model}"; known: ${models.names().join(', ')}`);
  }
}

function scopeOf(req: Request, forListing = false): { service: string; subservice: string; scope: ServiceScope } {
  const service = req.header('fiware-service');
  const subservice = req.header('fiware-servicepath');
  const missing = [service === undefined && 'fiware-service', subservice === undefined && 'fiware-servicepath'].filter(Boolean) as string[];
  if (missing.length > 0) throw missingHeaders(missing);
  if (!/^[a-z0-9_]{0,50}$/.test(service!)) throw badRequest('fiware-service must be lower-case letters, digits and underscores (at most 50)');
  if (!/^\/[^#?\s]*$/.test(subservice!)) throw badRequest('fiware-servicepath must start with "/"');
  return { service: service!, subservice: subservice!, scope: { service: service!, subservice: forListing && subservice === '/*' ? undefined : subservice } };
}

function paging(req: Request): { limit: number; offset: number } {
  const limit = req.query.limit === undefined ? 20 : Number(req.query.limit);
  const offset = req.query.offset === undefined ? 0 : Number(req.query.offset);
  if (!Number.isInteger(limit) || limit < 0 || limit > 1000) throw badRequest('limit must be an integer from 0 to 1000');
  if (!Number.isInteger(offset) || offset < 0) throw badRequest('offset must be a non-negative integer');
  return { limit, offset };
}

/** The non-empty list a creation body carries under `member` (`services`, `devices`). */
function bodyList<T>(req: Request, member: string): T[] {
  const list = req.body?.[member];
  if (!Array.isArray(list) || list.length === 0) throw wrongSyntax(`the body must have a non-empty "${member}" array`);
  return list as T[];
}

function groupKey(req: Request): { resource: string; apikey: string } {
  const resource = req.query.resource;
  const apikey = req.query.apikey;
  const missing = [typeof resource !== 'string' && 'resource', typeof apikey !== 'string' && 'apikey'].filter(Boolean) as string[];
  if (missing.length > 0) throw missingParameters(missing);
  return { resource: resource as string, apikey: apikey as string };
}

const groupToApi = (g: ConfigGroupRecord) => ({ ...g.body, resource: g.resource, apikey: g.apikey, service: g.service, subservice: g.subservice });

const deviceToApi = (d: DeviceRecord) => ({ ...d.body, ...(d.apikey ? { apikey: d.apikey } : {}), service: d.service, service_path: d.subservice, entity_name: d.entityName });

/** Wraps an async handler so that its errors reach the error middleware. */
const handle = (fn: (req: Request, res: import('express').Response) => Promise<void>) => (req: Request, res: import('express').Response, next: (e?: unknown) => void) => {
  fn(req, res).catch(next);
};

export function provisioningRouter(registry: DeviceRegistry, models: ModelCatalog, hooks: ProvisioningHooks): Router {
  const store = registry.store;
  const router = Router();

  router.get(
    '/iot/services',
    handle(async (req, res) => {
      const { scope } = scopeOf(req, true);
      const { limit, offset } = paging(req);
      const { count, groups } = await store.listGroups(scope, limit, offset);
      const resource = typeof req.query.resource === 'string' ? req.query.resource : undefined;
      const services = groups.filter((g) => resource === undefined || g.resource === resource).map(groupToApi);
      res.status(200).json({ count: resource === undefined ? count : services.length, services });
    }),
  );

  router.post(
    '/iot/services',
    handle(async (req, res) => {
      const { service, subservice } = scopeOf(req);
      const records: ConfigGroupRecord[] = bodyList<ConfigGroup>(req, 'services').map((g, i) => {
        check(validateGroup, g, `services[${i}]`);
        checkExpressions(g, models);
        const { resource = '', apikey, service: _s, subservice: _ss, ...body } = g as ConfigGroup & { service?: string; subservice?: string };
        return { service, subservice, resource, apikey, body };
      });
      if (!(await store.createGroups(records))) throw duplicateGroup();
      registry.invalidate();
      await hooks.groupsProvisioned(records);
      res.status(201).json({});
    }),
  );

  router.put(
    '/iot/services',
    handle(async (req, res) => {
      const { service, subservice } = scopeOf(req);
      const { resource, apikey } = groupKey(req);
      check(validateGroupUpdate, req.body, 'body');
      checkExpressions(req.body, models);
      const { groups } = await store.listGroups({ service, subservice }, 1000, 0);
      const current = groups.find((g) => g.resource === resource && g.apikey === apikey);
      if (!current) throw groupNotFound(resource, apikey);
      const { resource: _r, apikey: _k, service: _s, subservice: _ss, ...changes } = req.body as Record<string, unknown>;
      const body = { ...current.body, ...changes };
      await store.updateGroup(service, subservice, resource, apikey, body);
      registry.invalidate();
      await hooks.groupsProvisioned([{ ...current, body }]);
      res.status(204).end();
    }),
  );

  router.delete(
    '/iot/services',
    handle(async (req, res) => {
      const { service, subservice } = scopeOf(req);
      const { resource, apikey } = groupKey(req);
      if (!(await store.deleteGroup(service, subservice, resource, apikey, req.query.device === 'true'))) throw groupNotFound(resource, apikey);
      registry.invalidate();
      res.status(204).end();
    }),
  );

  router.get(
    '/iot/devices',
    handle(async (req, res) => {
      const { scope } = scopeOf(req, true);
      const { limit, offset } = paging(req);
      const { count, devices } = await store.listDevices(scope, limit, offset);
      res.status(200).json({ count, devices: devices.map(deviceToApi) });
    }),
  );

  router.post(
    '/iot/devices',
    handle(async (req, res) => {
      const { service, subservice } = scopeOf(req);
      const list = bodyList<Device>(req, 'devices');
      const { groups } = await store.listGroups({ service, subservice }, 1000, 0);
      const records: DeviceRecord[] = list.map((d, i) => {
        check(validateDevice, d, `devices[${i}]`);
        checkExpressions(d, models);
        const { service: _s, service_path: _sp, entity_name, ...body } = d as Device & { service?: string; service_path?: string };
        const group = groupForDevice(groups.map(groupOf), d);
        const entityName = entity_name ?? defaultEntityId(d.device_id, entityTypeOf(d, group), group, service, subservice);
        return { service, subservice, deviceId: d.device_id, apikey: d.apikey, entityName, body };
      });
      if (new Set(records.map((r) => r.deviceId)).size < records.length) throw duplicateDevice();
      if (!(await store.createDevices(records))) throw duplicateDevice();
      registry.invalidate();
      await hooks.devicesProvisioned(records);
      res.status(201).json({});
    }),
  );

  router.get(
    '/iot/devices/:deviceId',
    handle(async (req, res) => {
      const { scope } = scopeOf(req);
      const device = await store.getDevice(scope, req.params.deviceId);
      if (!device) throw deviceNotFound(req.params.deviceId);
      res.status(200).json(deviceToApi(device));
    }),
  );

  router.put(
    '/iot/devices/:deviceId',
    handle(async (req, res) => {
      const { scope } = scopeOf(req);
      if (req.body && typeof req.body === 'object' && 'device_id' in req.body) throw badRequest("Can't change the ID of a preprovisioned device");
      check(validateDeviceUpdate, req.body, 'body');
      checkExpressions(req.body, models);
      const current = await store.getDevice(scope, req.params.deviceId);
      if (!current) throw deviceNotFound(req.params.deviceId);
      const { entity_name, service: _s, service_path: _sp, ...changes } = req.body as Record<string, unknown>;
      const updated: DeviceRecord = {
        ...current,
        apikey: typeof changes.apikey === 'string' ? changes.apikey : current.apikey,
        entityName: typeof entity_name === 'string' ? entity_name : current.entityName,
        body: { ...current.body, ...changes },
      };
      await store.updateDevice(updated);
      registry.invalidate();
      await hooks.devicesProvisioned([updated]);
      res.status(204).end();
    }),
  );

  router.delete(
    '/iot/devices/:deviceId',
    handle(async (req, res) => {
      const { service, subservice } = scopeOf(req);
      if (!(await store.deleteDevice(service, subservice, req.params.deviceId))) throw deviceNotFound(req.params.deviceId);
      registry.invalidate();
      res.status(204).end();
    }),
  );

  return router;
}
