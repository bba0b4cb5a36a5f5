/**
 * The one catalog of error codes. Each canonical code maps once to its gRPC status (same
 * number) and to the HTTP status TF-Serving's REST layer answers with; handlers never pick
 * status numbers themselves.
 */
export const StatusCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type StatusCodeName = keyof typeof StatusCode;

const HTTP_STATUS: Record<StatusCodeName, number> = {
  OK: 200,
  CANCELLED: 499,
  UNKNOWN: 500,
  INVALID_ARGUMENT: 400,
  DEADLINE_EXCEEDED: 504,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  FAILED_PRECONDITION: 400,
  ABORTED: 409,
  OUT_OF_RANGE: 400,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DATA_LOSS: 500,
  UNAUTHENTICATED: 401,
};

export function grpcStatusOf(code: StatusCodeName): number {
  return StatusCode[code];
}

export function httpStatusOf(code: StatusCodeName): number {
  return HTTP_STATUS[code];
}

export function isStatusCodeName(name: unknown): name is StatusCodeName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(StatusCode, name);
}

const NAME_OF_NUMBER = new Map<number, StatusCodeName>(
  Object.entries(StatusCode).map(([name, number]) => [number, name as StatusCodeName]),
);

/** The canonical code a gRPC status number stands for; UNKNOWN for a number outside the catalog. */
export function statusCodeOfGrpc(status: number): StatusCodeName {
  return NAME_OF_NUMBER.get(status) ?? 'UNKNOWN';
}

/**
 * The canonical code a REST answer's HTTP status stands for: the first in the catalog mapped to
 * it (400 is INVALID_ARGUMENT, though FAILED_PRECONDITION and OUT_OF_RANGE answer 400 too: REST
 * does not tell them apart); UNKNOWN for a status no code maps to (413, a body over the limit).
 */
export function statusCodeOfHttp(status: number): StatusCodeName {
  const codes = Object.keys(HTTP_STATUS) as StatusCodeName[];
  return codes.find((code) => HTTP_STATUS[code] === status) ?? 'UNKNOWN';
}
