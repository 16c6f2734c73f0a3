/**
 * Writing NGSI-LD representations: the body in the negotiated media type,
 * the @context in the body (ld+json, geo+json) or in a Link header (json).
 */
import type { ServerResponse } from 'node:http';
import { API_BASE, ApiRequest } from './apiRequest';
import { ActiveContext, amendEntityForVersion, formatContextLink, withMembers } from '@civitas/core';
import { GEO_JSON, JSON_TYPE, LD_JSON } from './mediaTypes';
import type { NgsiRequest } from './pipeline';

/** The context Link; a context the broker serves itself is linked on the host the client used. */
export function contextLink(req: ApiRequest, ctx: ActiveContext): string {
  const url = ctx.linkUrl.startsWith('/') ? `${req.origin}${ctx.linkUrl}` : ctx.linkUrl;
  return formatContextLink(url);
}

/** Appends a link-value to the Link header (pagination and context share it). */
export function addLink(res: ServerResponse, value: string): void {
  const current = res.getHeader('Link');
  res.setHeader('Link', current ? `${String(current)}, ${value}` : value);
}

/** A representation as it is sent: what `representation` made of a body, ready to send again as it is. */
export interface Representation {
  readonly status: number;
  readonly type: string;
  readonly text: string;
  /** The @context goes in a Link header (it is not in the body). */
  readonly linked: boolean;
}

/**
 * Sends a representation. For ld+json (and geo+json unless `Prefer:
 * body=json`) the context goes in the body: inside each element of an array
 * answer, on the FeatureCollection for GeoJSON.
 */
export function sendRepresentation(
  req: ApiRequest,
  res: ServerResponse,
  ngsi: NgsiRequest,
  body: unknown,
  options: { contextList?: boolean; status?: number; entityData?: boolean } = {},
): Representation {
  const made = representation(req, ngsi, body, options);
  sendMade(req, res, ngsi, made);
  return made;
}

/** Sends a representation made before, for this request's context. */
export function sendMade(req: ApiRequest, res: ServerResponse, ngsi: NgsiRequest, made: Representation): void {
  if (made.linked) addLink(res, contextLink(req, ngsi.ctx));
  res.statusCode = made.status;
  res.setHeader('Content-Type', made.type);
  res.end(made.text);
}

function representation(req: ApiRequest, ngsi: NgsiRequest, body: unknown, options: { contextList?: boolean; status?: number; entityData?: boolean }): Representation {
  const { accept, ctx } = ngsi;
  let status = options.status ?? 200;
  if (options.entityData && ngsi.version) {
    // Entity data amended to the preferred version is flagged with 203 (4.3.6.8).
    let altered = false;
    for (const e of Array.isArray(body) ? body : [body]) {
      if (typeof e === 'object' && e !== null) altered = amendEntityForVersion(e as Record<string, unknown>, ngsi.version) || altered;
    }
    if (altered && status === 200) status = 203;
  }
  const contextInBody = accept === LD_JSON || (accept === GEO_JSON && !/body=json/i.test(String(req.headers.prefer ?? '')));
  let payload = body;
  if (contextInBody) {
    // Subscriptions give their @context as a list, the form they are written in (5.2.12 examples).
    const context = options.contextList && !Array.isArray(ctx.responseContext) ? [ctx.responseContext] : ctx.responseContext;
    const withContext = (o: unknown) => (typeof o === 'object' && o !== null ? withMembers(o, { '@context': context }) : o);
    payload = Array.isArray(body) ? body.map(withContext) : withContext(body);
  }
  return { status, type: accept === JSON_TYPE ? JSON_TYPE : accept, text: JSON.stringify(payload), linked: !contextInBody };
}

/** A JSON body with exactly the media type given: NGSI-LD media types take no charset parameter. */
export function sendJson(res: ServerResponse, status: number, payload: unknown, type: string = JSON_TYPE): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.end(JSON.stringify(payload));
}

/** 204: no body, no Content-Length, no context Link (6.3.6). */
export function sendNoContent(res: ServerResponse): void {
  res.removeHeader('Link');
  res.statusCode = 204;
  res.end();
}

/** 201 with the Location of what was created, below the API's base path; no body. */
export function sendCreated(res: ServerResponse, path: string): void {
  res.statusCode = 201;
  res.setHeader('Location', encodeURI(`${API_BASE}${path}`));
  res.end();
}

/**
 * Query values in a link target: percent-encoded only where RFC 3986 requires it
 * in a query component, so that `:`, `*`, `,` or `;` of ids, patterns and q stay readable.
 */
function encodeQueryValue(value: string): string {
  return encodeURIComponent(value).replace(/%(3A|40|2F|3F|2C|3B|24|21|27|28|29|2A)/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** rel="prev" / rel="next" link-values (5.5.9): the request's parameters with the page's limit and offset, in name order. */
export function paginationLinks(req: ApiRequest, res: ServerResponse, accept: string, query: { limit: number; offset: number }, hasMore: boolean): void {
  const kept = Object.entries(req.query).filter(([k]) => k !== 'limit' && k !== 'offset');
  const link = (offset: number, rel: string) => {
    const params = [...kept, ['limit', String(query.limit)], ['offset', String(offset)]]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${encodeQueryValue(k as string)}=${encodeQueryValue(String(v))}`);
    return `<${req.path.replace(/\/+$/, '')}?${params.join('&')}>;rel="${rel}";type="${accept}"`;
  };
  if (query.offset > 0 && query.limit > 0) addLink(res, link(Math.max(0, query.offset - query.limit), 'prev'));
  if (hasMore) addLink(res, link(query.offset + query.limit, 'next'));
}
