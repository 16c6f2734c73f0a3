/**
 * Errors as NGSI-LD ProblemDetails (5.5.3, 6.3.6): always application/json,
 * never with a context Link, and some HTTP-level statuses without a body.
 */
import type { ServerResponse } from 'node:http';
import { NgsiError } from '@civitas/core';
import { sendJson } from './respond';

/** 6.3.4: these answer with no body at all. */
const BODYLESS = new Set(['UnsupportedMediaType']);

export function sendError(res: ServerResponse, error: unknown, log: (e: unknown) => void): void {
  const ngsi = toNgsiError(error, log);
  if (res.headersSent) return;
  res.removeHeader('Link');
  if (BODYLESS.has(ngsi.type) || ngsi.status === 411) {
    res.statusCode = ngsi.status;
    res.end();
    return;
  }
  sendJson(res, ngsi.status, ngsi.toProblem());
}

export function toNgsiError(error: unknown, log: (e: unknown) => void): NgsiError {
  if (error instanceof NgsiError) return error;
  log(error);
  return new NgsiError('InternalError', 'An unexpected error occurred; it has been logged');
}
