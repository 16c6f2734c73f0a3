/** Errors of the provisioning API, in FIWARE's shape: `{"name": "DEVICE_NOT_FOUND", "message": "..."}`. */
import type { ErrorRequestHandler } from 'express';

export class ProvisioningError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const missingHeaders = (names: string[]) =>
  new ProvisioningError(400, 'MISSING_HEADERS', `Some headers were missing from the request: ${JSON.stringify(names)}`);
export const wrongSyntax = (detail: string) => new ProvisioningError(400, 'WRONG_SYNTAX', `Wrong syntax in request: ${detail}`);
export const badRequest = (detail: string) => new ProvisioningError(400, 'BAD_REQUEST', `Request error: ${detail}`);
export const missingParameters = (names: string[]) =>
  new ProvisioningError(400, 'MISSING_CONFIG_PARAMS', `The following parameters were missing from the request: ${JSON.stringify(names)}`);
export const deviceNotFound = (id: string) => new ProvisioningError(404, 'DEVICE_NOT_FOUND', `No device was found with id:${id}`);
export const duplicateDevice = () => new ProvisioningError(409, 'DUPLICATE_DEVICE_ID', 'A device with the same pair (Service, DeviceId) was found');
export const groupNotFound = (resource: string, apikey: string) =>
  new ProvisioningError(404, 'DEVICE_GROUP_NOT_FOUND', `Couldn't find device group for fields: ${JSON.stringify({ resource, apikey })}`);
export const duplicateGroup = () => new ProvisioningError(409, 'DUPLICATE_GROUP', 'A device configuration already exists for the given resource and API key');

export function errorHandler(log: (message: string) => void): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    if (err instanceof ProvisioningError) {
      res.status(err.status).json({ name: err.code, message: err.message });
      return;
    }
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.parse.failed') {
      res.status(400).json({ name: 'WRONG_SYNTAX', message: `Invalid JSON body: ${e.message}` });
      return;
    }
    if (e.type === 'entity.too.large') {
      res.status(413).json({ name: 'PAYLOAD_TOO_LARGE', message: 'The request body is too large' });
      return;
    }
    log(`Provisioning request failed: ${(err as Error).stack ?? String(err)}`);
    res.status(500).json({ name: 'SERVER_ERROR', message: 'An internal error occurred' });
  };
}
