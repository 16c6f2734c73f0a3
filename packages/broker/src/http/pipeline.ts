/**
 * What every NGSI-LD request goes through before its handler runs: tenant,
 * response type, body, and the @context that expands the request and
 * compacts the response (6.3.5).
 */
import { allowOnly } from './params';
import type { ServerResponse } from 'node:http';
import type { ApiHandler, ApiRequest } from './apiRequest';
import { ActiveContext, ContextSource, NgsiError, preferredVersion } from '@civitas/core';
import { bodyType, JSON_TYPE, LD_JSON, MERGE_PATCH, negotiate, ResponseType } from './mediaTypes';
import { parseJson } from './jsonBody';
import { sendError } from './problem';
import type { BrokerDeps } from '../deps';
import { DEFAULT_TENANT } from '@civitas/store';

export interface NgsiRequest {
  tenant: string;
  /** The request's @context (core only when none was given). */
  ctx: ActiveContext;
  /** The parsed JSON body, when the operation takes one. */
  body: unknown;
  /** True when the body came as application/ld+json (then each batch element carries its own @context). */
  ldBody: boolean;
  /** The negotiated response media type. */
  accept: ResponseType;
  /** The NGSI-LD version the consumer prefers (Prefer: ngsi-ld=x.y), already confirmed in Preference-Applied. */
  version?: string;
}

export interface HandlerOptions {
  /** The operation takes a JSON body (POST, PATCH, PUT). */
  body?: boolean;
  /** The operation can answer application/geo+json. */
  geo?: boolean;
  /** The operation answers with a representation (so Accept is checked). */
  produces?: boolean;
  /** The URL parameters the operation takes; any other is InvalidRequest, found before the body is read. */
  params?: readonly string[];
}

export type NgsiHandler = (ngsi: NgsiRequest, req: ApiRequest, res: ServerResponse) => Promise<void>;

const TENANT = /^[A-Za-z0-9_\-]{1,64}$/;

export function ngsiHandler(deps: BrokerDeps, options: HandlerOptions, handle: NgsiHandler): ApiHandler {
  return async (req, res) => {
    try {
      if (options.params) allowOnly(req, options.params);
      const tenant = tenantOf(req, res);
      const accept = options.produces === false ? JSON_TYPE : negotiate(req.headers.accept, options.geo ?? false);
      let body: unknown;
      let ldBody = false;
      let userContext: ContextSource | undefined;
      const link = req.headers.link;
      const linked = deps.contexts.parseLink(Array.isArray(link) ? link.join(', ') : link);
      if (options.body) {
        const type = checkBodyHeaders(req);
        body = parseJson(req.body, deps.config.maxBodyDepth);
        ldBody = type === LD_JSON;
        userContext = contextOfBody(body, ldBody, linked);
      } else {
        userContext = linked;
      }
      const ctx = await deps.contexts.resolve(userContext);
      const version = preferredVersion(req.headers.prefer);
      if (version) res.setHeader('Preference-Applied', `ngsi-ld=${version}`);
      await handle({ tenant, ctx, body, ldBody, accept, version }, req, res);
    } catch (error) {
      sendError(res, error, deps.log.error);
    }
  };
}

function tenantOf(req: ApiRequest, res: ServerResponse): string {
  const header = req.headers['ngsild-tenant'];
  const tenant = Array.isArray(header) ? header[0] : header;
  if (tenant !== undefined) res.setHeader('NGSILD-Tenant', tenant);
  return checkedTenant(tenant);
}

/** The tenant an NGSILD-Tenant value names (the default one when there is none). */
export function checkedTenant(tenant: string | undefined): string {
  if (tenant === undefined) return DEFAULT_TENANT;
  if (!TENANT.test(tenant)) throw new NgsiError('BadRequestData', 'NGSILD-Tenant must be 1 to 64 letters, digits, _ or -');
  return tenant;
}

function checkBodyHeaders(req: ApiRequest): string {
  // A body of unannounced length (chunked included) is refused: 411 (6.3.4).
  if (req.headers['content-length'] === undefined) {
    throw new NgsiError('InvalidRequest', 'Content-Length is required', 411);
  }
  const type = bodyType(req.headers['content-type']);
  const allowed = type === JSON_TYPE || type === LD_JSON || (type === MERGE_PATCH && req.method === 'PATCH');
  if (!allowed) throw new NgsiError('UnsupportedMediaType', `Content-Type ${type ?? '(none)'} is not supported`);
  return type === MERGE_PATCH ? JSON_TYPE : type;
}

/**
 * 6.3.5: JSON bodies take their context from the Link header and must not
 * carry one; JSON-LD bodies carry it and must not have a Link. A batch is
 * checked element by element (see checkElementContext), so that one bad
 * element, or one unreachable context, fails alone.
 */
function contextOfBody(body: unknown, ld: boolean, linked: string | undefined): ContextSource | undefined {
  if (ld && linked !== undefined) throw new NgsiError('BadRequestData', 'A body sent as application/ld+json must not come with a JSON-LD Link header');
  // A batch answers with ids and ProblemDetails only, which no context compacts: its elements bring their own.
  if (Array.isArray(body)) return ld ? undefined : linked;
  checkElementContext(body, ld);
  return ld ? (body as { '@context': ContextSource })['@context'] : linked;
}

/** The 6.3.5 rule for one entity of a body. */
export function checkElementContext(element: unknown, ld: boolean): void {
  const has = typeof element === 'object' && element !== null && '@context' in element;
  if (!ld && has) throw new NgsiError('BadRequestData', 'A body sent as application/json must not contain @context; use a Link header or application/ld+json');
  if (ld && !has) throw new NgsiError('BadRequestData', 'A body sent as application/ld+json must contain @context');
}
