import { isStatusCodeName, StatusCodeName } from './status_code';

/** An error with a canonical status code; what every layer throws for bad input or state. */
export class ServingError extends Error {
  constructor(
    readonly code: StatusCodeName,
    message: string,
  ) {
    super(message);
    this.name = 'ServingError';
  }
}

export const invalidArgument = (message: string) => new ServingError('INVALID_ARGUMENT', message);
export const notFound = (message: string) => new ServingError('NOT_FOUND', message);
export const failedPrecondition = (message: string) => new ServingError('FAILED_PRECONDITION', message);
export const unimplemented = (message: string) => new ServingError('UNIMPLEMENTED', message);
export const internal = (message: string) => new ServingError('INTERNAL', message);

/**
 * Any thrown value as a ServingError. Native addon errors carry a canonical code name in
 * `code`; anything else is a programming error and becomes INTERNAL.
 */
export function toServingError(error: unknown): ServingError {
  if (error instanceof ServingError) return error;
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    const converted = new ServingError(isStatusCodeName(code) ? code : 'INTERNAL', error.message);
    converted.stack = error.stack;
    return converted;
  }
  return new ServingError('INTERNAL', String(error));
}
