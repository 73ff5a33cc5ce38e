import { GraphQLError } from 'graphql';

/**
 * The contract's error codes (shared/contract/README.md). Every failure a service raises on
 * purpose is one of these classes, so the code a client sees never depends on who threw.
 */
export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  OUT_OF_STOCK: 'OUT_OF_STOCK',
  RATE_LIMITED: 'RATE_LIMITED',
  OPERATION_TOO_COMPLEX: 'OPERATION_TOO_COMPLEX',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
};

export class AppError extends GraphQLError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    extra: Record<string, unknown> = {},
  ) {
    super(message, { extensions: { code, ...extra } });
    this.name = code;
  }

  /** HTTP status for failures that reject the whole request before any field resolves. */
  get httpStatus(): number {
    return HTTP_STATUS[this.code] ?? 400;
  }
}

export class BadUserInputError extends AppError {
  constructor(message: string, extra: Record<string, unknown> = {}) {
    super(ErrorCode.BAD_USER_INPUT, message, extra);
  }
}
export class UnauthenticatedError extends AppError {
  constructor(message = 'You must be signed in to do this') {
    super(ErrorCode.UNAUTHENTICATED, message);
  }
}
export class ForbiddenError extends AppError {
  constructor(message = 'You are not allowed to do this') {
    super(ErrorCode.FORBIDDEN, message);
  }
}
export class NotFoundError extends AppError {
  constructor(message: string) {
    super(ErrorCode.NOT_FOUND, message);
  }
}
export class ConflictError extends AppError {
  constructor(message: string) {
    super(ErrorCode.CONFLICT, message);
  }
}
export class OutOfStockError extends AppError {
  constructor(
    readonly productIds: string[],
    message = 'Not enough stock for some products',
  ) {
    super(ErrorCode.OUT_OF_STOCK, message, { productIds });
  }
}
export class RateLimitedError extends AppError {
  constructor(
    readonly retryAfterSeconds: number,
    message = 'Too many requests, slow down',
  ) {
    super(ErrorCode.RATE_LIMITED, message, { retryAfter: retryAfterSeconds });
  }
}
/**
 * A service the request needs is down, restarting, timed out, or its circuit is open: worth
 * retrying, and not a defect. The message names the service, never its address; `reason`
 * (the transport's own words, which may carry an address) is for logs only.
 */
export class ServiceUnavailableError extends AppError {
  constructor(
    readonly target: string,
    readonly reason: string,
    /** Seconds until a retry can succeed, when the caller knows (an open circuit's remaining time). */
    retryAfterSeconds?: number,
  ) {
    super(ErrorCode.SERVICE_UNAVAILABLE, `The ${target} service is unavailable right now; retry in a moment`, {
      retryable: true,
      ...(retryAfterSeconds === undefined ? {} : { retryAfter: retryAfterSeconds }),
    });
  }
}
export class InternalError extends AppError {
  constructor(message: string) {
    super(ErrorCode.INTERNAL_SERVER_ERROR, message);
  }
}

export function errorCodeOf(error: unknown): string | undefined {
  if (error instanceof GraphQLError) return error.extensions?.code as string | undefined;
  return undefined;
}
