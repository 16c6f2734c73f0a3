/**
 * NGSI-LD errors (ETSI GS CIM 009, 5.5.6 and table 6.3.2-1). Anything that
 * rejects a request throws an NgsiError; the broker turns it into a
 * ProblemDetails body with the matching status.
 */

export const ERROR_TYPE_BASE = 'https://uri.etsi.org/ngsi-ld/errors/';

export type NgsiErrorType =
  | 'InvalidRequest'
  | 'BadRequestData'
  | 'AlreadyExists'
  | 'Conflict'
  | 'ResourceNotFound'
  | 'NonexistentTenant'
  | 'OperationNotSupported'
  | 'TooComplexQuery'
  | 'TooManyResults'
  | 'InternalError'
  | 'NoMultiTenantSupport'
  | 'LdContextNotAvailable'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'PayloadTooLarge'
  | 'MethodNotAllowed';

const STATUS: Record<NgsiErrorType, number> = {
  InvalidRequest: 400,
  BadRequestData: 400,
  AlreadyExists: 409,
  Conflict: 409,
  ResourceNotFound: 404,
  NonexistentTenant: 404,
  OperationNotSupported: 422,
  TooComplexQuery: 403,
  TooManyResults: 403,
  InternalError: 500,
  NoMultiTenantSupport: 501,
  // 504 from V1.9.1 (503 up to V1.8); the broker config may choose.
  LdContextNotAvailable: 504,
  NotAcceptable: 406,
  UnsupportedMediaType: 415,
  PayloadTooLarge: 413,
  MethodNotAllowed: 405,
};

const TITLES: Record<NgsiErrorType, string> = {
  InvalidRequest: 'Invalid request',
  BadRequestData: 'Bad request data',
  AlreadyExists: 'Already exists',
  Conflict: 'Conflict',
  ResourceNotFound: 'Resource not found',
  NonexistentTenant: 'Nonexistent tenant',
  OperationNotSupported: 'Operation not supported',
  TooComplexQuery: 'Too complex query',
  TooManyResults: 'Too many results',
  InternalError: 'Internal error',
  NoMultiTenantSupport: 'No multi-tenant support',
  LdContextNotAvailable: 'LD context not available',
  NotAcceptable: 'Not acceptable',
  UnsupportedMediaType: 'Unsupported media type',
  PayloadTooLarge: 'Payload too large',
  MethodNotAllowed: 'Method not allowed',
};

/** RFC 7807 body as NGSI-LD uses it (5.5.3). */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
}

export class NgsiError extends Error {
  readonly status: number;

  constructor(
    readonly type: NgsiErrorType,
    readonly detail: string,
    status?: number,
  ) {
    super(`${type}: ${detail}`);
    this.name = 'NgsiError';
    this.status = status ?? STATUS[type];
  }

  get title(): string {
    return TITLES[this.type];
  }

  toProblem(instance?: string): ProblemDetails {
    const problem: ProblemDetails = {
      type: ERROR_TYPE_BASE + this.type,
      title: this.title,
      status: this.status,
      detail: this.detail,
    };
    if (instance !== undefined) problem.instance = instance;
    return problem;
  }
}

export const badRequest = (detail: string): NgsiError => new NgsiError('BadRequestData', detail);
export const invalidRequest = (detail: string): NgsiError => new NgsiError('InvalidRequest', detail);
export const notFound = (detail: string): NgsiError => new NgsiError('ResourceNotFound', detail);
