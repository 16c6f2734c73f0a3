/**
 * The NGSI-LD HTTP API as an express application. Each operation has its
 * own handler module; this file only maps routes to them.
 */
import express, { NextFunction, Request, Response, Router } from 'express';
import helmet from 'helmet';
import { NgsiError } from '@civitas/core';
import type { BrokerDeps } from './deps';
import { sendError } from './http/problem';
import { sendJson } from './http/respond';
import { createEntityHandler } from './entities/createEntity';
import { retrieveEntityHandler } from './entities/retrieveEntity';
import { queryEntitiesHandler } from './entities/queryEntities';
import { purgeEntitiesHandler } from './entities/purgeEntities';
import { replaceEntityHandler } from './entities/replaceEntity';
import { mergeEntityHandler } from './entities/mergeEntity';
import { deleteEntityHandler } from './entities/deleteEntity';
import { appendAttributesHandler } from './entities/appendAttributes';
import { updateAttributesHandler } from './entities/updateAttributes';
import { patchAttributeHandler } from './entities/patchAttribute';
import { replaceAttributeHandler } from './entities/replaceAttribute';
import { deleteAttributeHandler } from './entities/deleteAttribute';
import { queryHandler } from './batch/queryHandler';
import { listTypesHandler } from './discovery/listTypes';
import { typeInfoHandler } from './discovery/typeInfo';
import { listAttributesHandler } from './discovery/listAttributes';
import { attributeInfoHandler } from './discovery/attributeInfo';
import { sourceIdentityHandler } from './discovery/sourceIdentity';
import { createSubscriptionHandler } from './subscriptions/createSubscription';
import { querySubscriptionsHandler } from './subscriptions/querySubscriptions';
import { retrieveSubscriptionHandler } from './subscriptions/retrieveSubscription';
import { updateSubscriptionHandler } from './subscriptions/updateSubscription';
import { deleteSubscriptionHandler } from './subscriptions/deleteSubscription';
import { createRegistrationHandler, deleteRegistrationHandler, retrieveRegistrationHandler, updateRegistrationHandler } from './registrations/handlers';
import { queryRegistrationsHandler } from './registrations/queryRegistrations';
import {
  createRegistrationSubscriptionHandler,
  deleteRegistrationSubscriptionHandler,
  queryRegistrationSubscriptionsHandler,
  retrieveRegistrationSubscriptionHandler,
  updateRegistrationSubscriptionHandler,
} from './registrations/subscriptions';
import { retrieveTemporalEntityHandler } from './temporal/retrieveTemporalEntity';
import { queryTemporalEntitiesHandler, temporalQueryHandler } from './temporal/queryTemporalEntities';
import { createTemporalEntityHandler } from './temporal/createTemporalEntity';
import { appendTemporalAttributesHandler } from './temporal/appendTemporalAttributes';
import { deleteTemporalAttributeHandler, deleteTemporalEntityHandler, deleteTemporalInstanceHandler } from './temporal/deleteTemporal';
import { modifyTemporalInstanceHandler } from './temporal/modifyTemporalInstance';
import { batchCreateHandler, batchDeleteHandler, batchMergeHandler, batchUpdateHandler, batchUpsertHandler } from './batch/handlers';

export const API_BASE = '/ngsi-ld/v1';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Routes = Record<string, Partial<Record<Method, express.RequestHandler>>>;

export function createApp(deps: BrokerDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Entities change under their ids; an ETag hashed from each body costs every response and serves no cache here.
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(helmet());

  app.get('/health', (_req, res) => {
    // Delivery counters of this process: failed attempts are retried; dropped ones were given up (and logged).
    res.json({ status: 'ok', store: deps.store.driver, notifications: deps.notifier.stats });
  });

  const api = Router();
  api.use((req: Request, _res: Response, next: NextFunction) => {
    const qs = req.originalUrl.indexOf('?');
    if (qs >= 0 && req.originalUrl.length - qs - 1 > deps.config.maxQueryLength) {
      next(new NgsiError('BadRequestData', `The query string is longer than ${deps.config.maxQueryLength} characters`));
      return;
    }
    next();
  });
  api.use(express.raw({ type: () => true, limit: deps.config.maxBodyBytes }));
  // `/entities/` and `/entities//attrs...` (temporal ones too) name an entity with an empty id: a bad request, not an unknown route.
  api.use((req: Request, _res: Response, next: NextFunction) => {
    const emptyId = /^\/(temporal\/)?entities\/\//.test(req.path) || (req.path === '/entities/' && !['GET', 'POST', 'DELETE'].includes(req.method));
    next(emptyId ? new NgsiError('BadRequestData', 'The entity id is missing from the URL') : undefined);
  });

  const routes: Routes = {
    '/entities': { get: queryEntitiesHandler(deps), post: createEntityHandler(deps), delete: purgeEntitiesHandler(deps) },
    '/entities/:entityId': {
      get: retrieveEntityHandler(deps),
      put: replaceEntityHandler(deps),
      patch: mergeEntityHandler(deps),
      delete: deleteEntityHandler(deps),
    },
    '/entities/:entityId/attrs': { post: appendAttributesHandler(deps), patch: updateAttributesHandler(deps) },
    '/entities/:entityId/attrs/:attrId': {
      patch: patchAttributeHandler(deps),
      put: replaceAttributeHandler(deps),
      delete: deleteAttributeHandler(deps),
    },
    '/entityOperations/create': { post: batchCreateHandler(deps) },
    '/entityOperations/upsert': { post: batchUpsertHandler(deps) },
    '/entityOperations/update': { post: batchUpdateHandler(deps) },
    '/entityOperations/delete': { post: batchDeleteHandler(deps) },
    '/entityOperations/merge': { post: batchMergeHandler(deps) },
    '/entityOperations/query': { post: queryHandler(deps) },
    '/subscriptions': { get: querySubscriptionsHandler(deps), post: createSubscriptionHandler(deps) },
    '/subscriptions/:subscriptionId': {
      get: retrieveSubscriptionHandler(deps),
      patch: updateSubscriptionHandler(deps),
      delete: deleteSubscriptionHandler(deps),
    },
    '/csourceRegistrations': { get: queryRegistrationsHandler(deps), post: createRegistrationHandler(deps) },
    '/csourceRegistrations/:registrationId': {
      get: retrieveRegistrationHandler(deps),
      patch: updateRegistrationHandler(deps),
      delete: deleteRegistrationHandler(deps),
    },
    '/csourceSubscriptions': { get: queryRegistrationSubscriptionsHandler(deps), post: createRegistrationSubscriptionHandler(deps) },
    '/csourceSubscriptions/:subscriptionId': {
      get: retrieveRegistrationSubscriptionHandler(deps),
      patch: updateRegistrationSubscriptionHandler(deps),
      delete: deleteRegistrationSubscriptionHandler(deps),
    },
    '/temporal/entities': { get: queryTemporalEntitiesHandler(deps), post: createTemporalEntityHandler(deps) },
    '/temporal/entities/:entityId': { get: retrieveTemporalEntityHandler(deps), delete: deleteTemporalEntityHandler(deps) },
    '/temporal/entityOperations/query': { post: temporalQueryHandler(deps) },
    '/temporal/entities/:entityId/attrs': { post: appendTemporalAttributesHandler(deps) },
    '/temporal/entities/:entityId/attrs/:attrId': { delete: deleteTemporalAttributeHandler(deps) },
    '/temporal/entities/:entityId/attrs/:attrId/:instanceId': { patch: modifyTemporalInstanceHandler(deps), delete: deleteTemporalInstanceHandler(deps) },
    '/types': { get: listTypesHandler(deps) },
    '/types/:type': { get: typeInfoHandler(deps) },
    '/attributes': { get: listAttributesHandler(deps) },
    '/attributes/:attrId': { get: attributeInfoHandler(deps) },
    '/info/sourceIdentity': { get: sourceIdentityHandler(deps) },
    '/jsonldContexts/:contextId': {
      get: (req, res) => {
        const doc = deps.contexts.stored(req.params.contextId);
        if (doc === undefined) sendError(res, new NgsiError('ResourceNotFound', `No @context ${req.params.contextId}`), deps.log.error);
        else sendJson(res, 200, doc, 'application/ld+json');
      },
    },
  };
  for (const [path, methods] of Object.entries(routes)) {
    const route = api.route(path);
    for (const [method, handler] of Object.entries(methods)) route[method as Method](handler);
    // 405 with Allow for the verbs this resource does not have (6.3.2).
    const allow = Object.keys(methods).map((m) => m.toUpperCase()).join(', ');
    route.all((_req, res) => {
      res.setHeader('Allow', allow);
      sendError(res, new NgsiError('MethodNotAllowed', `Allowed methods: ${allow}`), deps.log.error);
    });
  }
  api.use((_req: Request, res: Response) => sendError(res, new NgsiError('ResourceNotFound', 'No such NGSI-LD resource'), deps.log.error));
  api.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => sendError(res, err, deps.log.error));
  app.use(API_BASE, api);
  app.use((_req: Request, res: Response) => sendError(res, new NgsiError('ResourceNotFound', 'Not found'), deps.log.error));
  return app;
}
