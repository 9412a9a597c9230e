/**
 * One error hierarchy for driftless. Every error carries a stable `code` that HTTP responses,
 * CLI output and logs use, and says whether retrying the same work may succeed.
 */
export class DriftlessError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** A setting is missing or malformed. Thrown once, at start. */
export class ConfigError extends DriftlessError {
  readonly setting: string;

  constructor(setting: string, message: string) {
    super("config_invalid", `${setting}: ${message}`);
    this.setting = setting;
  }
}

/** A request or command argument is malformed. Nothing was changed. */
export class ValidationError extends DriftlessError {
  readonly status: number;

  constructor(code: string, message: string, status = 400) {
    super(code, message);
    this.status = status;
  }
}

export class NotFoundError extends DriftlessError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}

/** A dependency (Cosmos, Elasticsearch, Redis) failed or is unreachable. */
export class DependencyError extends DriftlessError {
  readonly dependency: "cosmos" | "elasticsearch" | "redis";
  readonly statusCode: number | undefined;

  constructor(
    dependency: "cosmos" | "elasticsearch" | "redis",
    message: string,
    options: { cause?: unknown; retryable?: boolean; statusCode?: number } = {},
  ) {
    super(`${dependency}_unavailable`, message, { cause: options.cause, retryable: options.retryable ?? true });
    this.dependency = dependency;
    this.statusCode = options.statusCode;
  }
}

/** A short, secret-free description of any thrown value, for logs and dead-letter reasons. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
