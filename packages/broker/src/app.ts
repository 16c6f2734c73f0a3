/**
 * The NGSI-LD HTTP API on node:http, routed by find-my-way. Each operation
 * has its own handler module; this file only maps routes to them.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import FindMyWay from 'find-my-way';
import { NgsiError } from '@civitas/core';
import type { BrokerDeps } from './deps';
import { API_BASE, ApiHandler, ApiRequest, EMPTY, hasBody, originOf, Query, readBody } from './http/apiRequest';

export { API_BASE };
import { sendError } from './http/problem';
import { setSecurityHeaders } from './http/securityHeaders';
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
import { FORWARDED_NOTIFICATIONS_ROUTE, forwardedNotificationHandler } from './distributed/forwardedNotifications';
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

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type Routes = Record<string, Partial<Record<Method, ApiHandler>>>;

/** The methods a resource answers 405 to when it does not take them (6.3.2); others are unknown (404). */
const KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export function createApp(deps: BrokerDeps): RequestListener {
  const router = FindMyWay({
    ignoreTrailingSlash: true,
    // Entity ids are URIs of any length; the query-length limit bounds the URL's other part.
    maxParamLength: 8192,
    querystringParser: (text) => parseQuery(text) as Query,
    onBadUrl: (path, _req, res) => sendError(res, new NgsiError('BadRequestData', `The URL ${path} is not validly percent-encoded`), deps.log.error),
    defaultRoute: (req, res) => {
      const inApi = (req.url ?? '').startsWith(`${API_BASE}/`);
      sendError(res, new NgsiError('ResourceNotFound', inApi ? 'No such NGSI-LD resource' : 'Not found'), deps.log.error);
    },
  });

  router.on('GET', '/health', (_req, res) => {
    // Delivery counters of this process: failed attempts are retried; dropped ones were given up (and logged).
    sendJson(res, 200, { status: 'ok', store: deps.store.driver, notifications: deps.notifier.stats });
  });

  const routes: Routes = {
    '/entities': { GET: queryEntitiesHandler(deps), POST: createEntityHandler(deps), DELETE: purgeEntitiesHandler(deps) },
    '/entities/:entityId': {
      GET: retrieveEntityHandler(deps),
      PUT: replaceEntityHandler(deps),
      PATCH: mergeEntityHandler(deps),
      DELETE: deleteEntityHandler(deps),
    },
    '/entities/:entityId/attrs': { POST: appendAttributesHandler(deps), PATCH: updateAttributesHandler(deps) },
    '/entities/:entityId/attrs/:attrId': {
      PATCH: patchAttributeHandler(deps),
      PUT: replaceAttributeHandler(deps),
      DELETE: deleteAttributeHandler(deps),
    },
    '/entityOperations/create': { POST: batchCreateHandler(deps) },
    '/entityOperations/upsert': { POST: batchUpsertHandler(deps) },
    '/entityOperations/update': { POST: batchUpdateHandler(deps) },
    '/entityOperations/delete': { POST: batchDeleteHandler(deps) },
    '/entityOperations/merge': { POST: batchMergeHandler(deps) },
    '/entityOperations/query': { POST: queryHandler(deps) },
    '/subscriptions': { GET: querySubscriptionsHandler(deps), POST: createSubscriptionHandler(deps) },
    '/subscriptions/:subscriptionId': {
      GET: retrieveSubscriptionHandler(deps),
      PATCH: updateSubscriptionHandler(deps),
      DELETE: deleteSubscriptionHandler(deps),
    },
    '/csourceRegistrations': { GET: queryRegistrationsHandler(deps), POST: createRegistrationHandler(deps) },
    '/csourceRegistrations/:registrationId': {
      GET: retrieveRegistrationHandler(deps),
      PATCH: updateRegistrationHandler(deps),
      DELETE: deleteRegistrationHandler(deps),
    },
    '/csourceSubscriptions': { GET: queryRegistrationSubscriptionsHandler(deps), POST: createRegistrationSubscriptionHandler(deps) },
    '/csourceSubscriptions/:subscriptionId': {
      GET: retrieveRegistrationSubscriptionHandler(deps),
      PATCH: updateRegistrationSubscriptionHandler(deps),
      DELETE: deleteRegistrationSubscriptionHandler(deps),
    },
    '/temporal/entities': { GET: queryTemporalEntitiesHandler(deps), POST: createTemporalEntityHandler(deps) },
    '/temporal/entities/:entityId': { GET: retrieveTemporalEntityHandler(deps), DELETE: deleteTemporalEntityHandler(deps) },
    '/temporal/entityOperations/query': { POST: temporalQueryHandler(deps) },
    '/temporal/entities/:entityId/attrs': { POST: appendTemporalAttributesHandler(deps) },
    '/temporal/entities/:entityId/attrs/:attrId': { DELETE: deleteTemporalAttributeHandler(deps) },
    '/temporal/entities/:entityId/attrs/:attrId/:instanceId': { PATCH: modifyTemporalInstanceHandler(deps), DELETE: deleteTemporalInstanceHandler(deps) },
    '/types': { GET: listTypesHandler(deps) },
    '/types/:type': { GET: typeInfoHandler(deps) },
    '/attributes': { GET: listAttributesHandler(deps) },
    '/attributes/:attrId': { GET: attributeInfoHandler(deps) },
    '/info/sourceIdentity': { GET: sourceIdentityHandler(deps) },
    [FORWARDED_NOTIFICATIONS_ROUTE]: { POST: forwardedNotificationHandler(deps) },
    '/jsonldContexts/:contextId': {
      GET: (req, res) => {
        const doc = deps.contexts.stored(req.params.contextId);
        if (doc === undefined) throw new NgsiError('ResourceNotFound', `No @context ${req.params.contextId}`);
        sendJson(res, 200, doc, 'application/ld+json');
      },
    },
  };

  /** Reads the body and runs the handler; whatever it throws is answered as ProblemDetails. */
  const serve = (handle: ApiHandler): FindMyWay.Handler<FindMyWay.HTTPVersion.V1> => (raw, res, params, _store, query) => {
    void (async () => {
      try {
        const url = raw.url ?? '/';
        const q = url.indexOf('?');
        // Awaited only when there is one: most requests carry none, and a resolved await still costs a turn.
        const body = hasBody(raw) ? await readBody(raw, deps.config.maxBodyBytes) : EMPTY;
        const req: ApiRequest = {
          method: raw.method ?? 'GET',
          url,
          path: q < 0 ? url : url.slice(0, q),
          query: query as Query,
          params: params as Record<string, string>,
          headers: raw.headers,
          body,
          origin: originOf(raw),
        };
        await handle(req, res);
      } catch (error) {
        sendError(res, error, deps.log.error);
      }
    })();
  };

  for (const [path, methods] of Object.entries(routes)) {
    const allow = Object.keys(methods).join(', ');
    const notAllowed = serve((_req, res) => {
      res.setHeader('Allow', allow);
      throw new NgsiError('MethodNotAllowed', `Allowed methods: ${allow}`);
    });
    for (const method of KNOWN_METHODS) {
      // HEAD is a GET without the body (node leaves the body out).
      const handler = methods[(method === 'HEAD' ? 'GET' : method) as Method];
      router.on(method, `${API_BASE}${path}`, handler ? serve(handler) : notAllowed);
    }
  }

  return (req: IncomingMessage, res: ServerResponse) => {
    setSecurityHeaders(res);
    const refusal = refusedBeforeRouting(req, deps.config.maxQueryLength);
    if (refusal) sendError(res, refusal, deps.log.error);
    else router.lookup(req, res);
  };
}

/**
 * What an API request is refused for whatever its route: an overlong query
 * string, and `/entities/` or `/entities//attrs...` (temporal ones too),
 * which name an entity with an empty id: a bad request, not an unknown route.
 */
function refusedBeforeRouting(req: IncomingMessage, maxQueryLength: number): NgsiError | undefined {
  const url = req.url ?? '/';
  if (!url.startsWith(`${API_BASE}/`)) return undefined;
  const q = url.indexOf('?');
  if (q >= 0 && url.length - q - 1 > maxQueryLength) return new NgsiError('BadRequestData', `The query string is longer than ${maxQueryLength} characters`);
  const path = (q < 0 ? url : url.slice(0, q)).slice(API_BASE.length);
  if (/^\/(temporal\/)?entities\/\//.test(path)) return new NgsiError('BadRequestData', 'The entity id is missing from the URL');
  if (path === '/entities/' && !['GET', 'HEAD', 'POST', 'DELETE'].includes(req.method ?? '')) return new NgsiError('BadRequestData', 'The entity id is missing from the URL');
  return undefined;
}
