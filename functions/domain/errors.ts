// The API's error shape (api.md "Errors"): {"<name>": {"code": N, "message": "..."}}. Domain rules
// throw or return ApiError so that every refusal carries its HTTP code and a message that says why.

export const ERROR_NAMES = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'methodNotAllowed',
  // Manila's Fault has no name for 406 and falls back to computeFault (manila/api/openstack/wsgi.py Fault._fault_names)
  406: 'computeFault',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  422: 'unprocessableEntity',
  500: 'computeFault',
} as const;

export type ErrorCode = keyof typeof ERROR_NAMES;

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** extra response headers, e.g. Retry-After on 413 */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get errorName(): string {
    return ERROR_NAMES[this.code];
  }

  toBody(): Record<string, { code: number; message: string }> {
    return { [this.errorName]: { code: this.code, message: this.message } };
  }
}

export const badRequest = (message: string) => new ApiError(400, message);
export const unauthorized = (message: string) => new ApiError(401, message);
export const forbidden = (message: string) => new ApiError(403, message);
export const notFound = (message: string) => new ApiError(404, message);
export const methodNotAllowed = (message: string) => new ApiError(405, message);
export const conflict = (message: string) => new ApiError(409, message);
export const badMediaType = (message: string) => new ApiError(415, message);
export const unprocessable = (message: string) => new ApiError(422, message);
/** 413: clients may retry later (a quota frees up), so the answer says when. */
export const overLimit = (message: string, retryAfterSeconds = 60) =>
  new ApiError(413, message, { 'Retry-After': String(retryAfterSeconds) });
export const internalFault = (message: string) => new ApiError(500, message);
