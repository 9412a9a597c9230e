import { DriftlessError } from "../../shared/core/errors.js";

export type StackService = "redis" | "elasticsearch" | "opensearch" | "cosmos";

/**
 * A local service could not be fetched, started or stopped. The message carries what is needed
 * to act on it verbatim (the tool's output, the tail of the service's log), because these
 * failures happen on machines the reader cannot log in to, such as CI.
 */
export class StackError extends DriftlessError {
  readonly service: StackService;

  constructor(service: StackService, message: string, options: { cause?: unknown } = {}) {
    super(`stack_${service}_failed`, message, { cause: options.cause });
    this.service = service;
  }
}
