// The service's error family: every failure the API answers with carries its HTTP status,
// and onError turns any of them into the platform's one error shape, {"error": "<message>"}.

/** Base class: a status, a stable code for logs, a message safe to show a client, and the cause. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options)
    this.name = new.target.name
    this.headers = options?.headers ?? {}
  }

  /** Response headers the status calls for (Allow with 405, Retry-After with 503). */
  readonly headers: Readonly<Record<string, string>>

  /** The JSON body the platform answers errors with. */
  toBody(): ErrorBody {
    return { error: this.message }
  }
}

export interface ErrorBody {
  error: string
}

/** 401: no token, an unknown token, a token that is not the KPI tracker's, or an account outside the allowlist. */
export class UnauthorizedError extends ApiError {
  constructor(message: string) {
    super(401, 'UNAUTHORIZED', message)
  }
}

/** 422: a parameter the API cannot take (the message names it and says what it must be). */
export class ValidationError extends ApiError {
  constructor(message: string) {
    super(422, 'VALIDATION', message)
  }
}

/** 404, worded as the platform words it. */
export class NotFoundError extends ApiError {
  constructor(message = 'Resource could not be found') {
    super(404, 'NOT_FOUND', message)
  }
}

/** 405: the path exists, the method does not; Allow names the ones it takes. */
export class MethodNotAllowedError extends ApiError {
  constructor(allow: readonly string[]) {
    super(405, 'METHOD_NOT_ALLOWED', `Method not allowed: use ${allow.join(' or ')}`, { headers: { allow: allow.join(', ') } })
  }
}

/** 410: a changes-feed cursor older than the change capture keeps: the walk must start again. */
export class GoneError extends ApiError {
  constructor(message: string) {
    super(410, 'GONE', message)
  }
}

/** 503: the database did not answer in time or refused; the client may retry. */
export class ServiceUnavailableError extends ApiError {
  constructor(message = 'The database is unavailable; try again shortly', options?: { cause?: unknown }) {
    super(503, 'SERVICE_UNAVAILABLE', message, { ...options, headers: { 'retry-after': '1' } })
  }
}

/**
 * 503: the service has more work than database connections (the pool saturated, or the exports'
 * share of it in use); the database itself answers. The client may retry; an operator reads it as
 * load, not an outage.
 */
export class ServiceBusyError extends ApiError {
  constructor(message = 'The service is busy: every database connection is in use; try again shortly', options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(503, 'SERVICE_BUSY', message, { cause: options?.cause, headers: { 'retry-after': String(options?.retryAfterSeconds ?? 1) } })
  }
}

/**
 * 503 without Retry-After: the database (or a pooler) refuses this service's connection for good
 * (credentials, database name, a startup parameter a transaction pooler rejects). Not an outage:
 * retrying does not help until an operator fixes the configuration.
 */
export class DatabaseMisconfiguredError extends ApiError {
  constructor(options?: { cause?: unknown }) {
    super(503, 'DATABASE_MISCONFIGURED', 'The database refuses this service\'s connection: a configuration problem, not an outage', options)
  }
}

/**
 * An export in flight (a streamed export, a changes-feed download) of one account, asked by
 * account_id, whose account was removed from the VBET allowlist meanwhile: its status went out long
 * ago, so it is cut (the client's read fails) and logged as such (src/http.ts).
 */
export class AllowlistRevokedError extends Error {
  constructor(readonly accountIds: readonly number[], options?: { cause?: unknown }) {
    super(`account_id ${accountIds.join(', ')} was removed from the VBET allowlist while it was exported`, options)
    this.name = 'AllowlistRevokedError'
  }
}

/** Configuration that cannot start the service; thrown once at start, before anything listens. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
  }
}
