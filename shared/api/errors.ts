import { DriftlessError, NotFoundError, ValidationError } from "../core/errors.js";
import type { ApiResponse } from "./types.js";

export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

/**
 * Maps any thrown value to a response. Validation and lookup errors are the caller's and say
 * so; anything else is ours or a dependency's and gets a message without internals.
 */
export function toErrorResponse(error: unknown): ApiResponse {
  if (error instanceof ValidationError) return { status: error.status, body: errorBody(error.code, error.message) };
  if (error instanceof NotFoundError) return { status: 404, body: errorBody(error.code, error.message) };
  if (error instanceof DriftlessError && error.retryable) {
    return { status: 503, body: errorBody(error.code, "a dependency is unavailable; retry later") };
  }
  return { status: 500, body: errorBody("internal_error", "the request failed; see the service logs") };
}
