// Errors in OpenAI's shape: {"error": {"message", "type", "param", "code"}} with the HTTP status OpenAI uses
// for the same case, so OpenAI clients raise their usual typed errors (BadRequestError, NotFoundError, …).
// Every route throws ApiError; the error handler in app.ts turns anything else into the right shape too.

export type ApiErrorType = 'invalid_request_error' | 'authentication_error' | 'permission_error' | 'not_found_error' | 'rate_limit_error' | 'server_error';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: ApiErrorType = 'invalid_request_error',
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** 400 for a request field that is missing or has the wrong type or value; the message names the field. */
export const badField = (param: string, message: string): ApiError => new ApiError(400, `${param}: ${message}`, 'invalid_request_error', 'invalid_value', param);

export const notFound = (what: string, code = 'not_found'): ApiError => new ApiError(404, what, 'not_found_error', code);

/**
 * Maps what Fastify itself throws (body parsing, size limits, content types) to OpenAI's shape. Anything
 * unexpected is a 500 whose message is kept short: the stack goes to the server log, not to the client.
 */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const err = e as { code?: string; statusCode?: number; message?: string };
  const msg = err.message ?? String(e);
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, `the request body is not valid JSON: ${msg}`, 'invalid_request_error', 'invalid_json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
    case 'FST_FILES_LIMIT':
      return new ApiError(413, `the request body is too large: ${msg}`, 'invalid_request_error', 'body_too_large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new ApiError(415, `unsupported Content-Type: ${msg}; send application/json${msg.includes('multipart') ? '' : ' (or multipart/form-data where the route takes a file)'}`, 'invalid_request_error', 'unsupported_media_type');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError(400, msg, 'invalid_request_error', 'invalid_content_length');
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500)
    return new ApiError(err.statusCode, msg, 'invalid_request_error', err.code ?? null);
  return new ApiError(500, `internal error: ${msg.slice(0, 300)}`, 'server_error', 'internal_error');
}
