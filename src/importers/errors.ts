import { GatewayError } from '../errors.js';

/** A problem with an import source: the message names what is wrong and where (a JSON path). */
export function sourceError(message: string): GatewayError {
  return new GatewayError('IMPORT_SOURCE_INVALID', message);
}

export function isSourceError(error: unknown): error is GatewayError {
  return error instanceof GatewayError && error.code === 'IMPORT_SOURCE_INVALID';
}
