import type { NextFunction, Request, Response } from 'express';
import { AppError, sendGraphQLError, ServiceUnavailableError, type Logger } from '@shop/kit';
import '../context';
import type { Authenticator } from '../security/authentication';

/**
 * Who is calling: verifies the access token (and its session) and sets req.gatewayContext.
 * A refused token answers its own error (401); when the session cannot be checked at all (store
 * and users both unreachable) the request cannot be decided: 503 SERVICE_UNAVAILABLE.
 */
export function identify(authenticator: Authenticator, logger: Logger) {
  return async (req: Request, res: Response, next: NextFunction) => {
    // The fast path has identified the caller already (token verified, session active).
    if (req.gatewayContext) return next();
    try {
      const identity = await authenticator.identify(req.headers.authorization);
      const clientIp = req.ip ?? req.socket.remoteAddress ?? 'unknown';
      req.gatewayContext = {
        requestId: req.requestId,
        identity,
        clientIp,
        clientKey: identity.userId ? `user:${identity.userId}` : `ip:${clientIp}`,
      };
      next();
    } catch (error) {
      if (error instanceof ServiceUnavailableError) {
        // Neither the store nor the users service could say whether the session is active:
        // the request cannot be decided either way (never served as anonymous, never refused).
        logger.warn({ err: error, reason: error.reason }, 'session check impossible: users unreachable');
        sendServiceUnavailable(res, 'Cannot check the session right now; retry in a moment', error.extensions);
        return;
      }
      if (error instanceof AppError) {
        const { code: _code, ...extensions } = error.extensions;
        sendGraphQLError(res, error.httpStatus, error.code, error.message, extensions);
        return;
      }
      logger.error({ err: error }, 'authentication failed unexpectedly');
      sendGraphQLError(res, 500, 'INTERNAL_SERVER_ERROR', `Internal server error (request id ${req.requestId})`);
    }
  };
}

/** HTTP 503 with SERVICE_UNAVAILABLE, retryable, and Retry-After when the wait is known. */
export function sendServiceUnavailable(res: Response, message: string, extensions: Record<string, unknown> = {}) {
  const retryAfter = typeof extensions.retryAfter === 'number' ? extensions.retryAfter : undefined;
  if (retryAfter !== undefined) res.setHeader('retry-after', String(retryAfter));
  sendGraphQLError(res, 503, 'SERVICE_UNAVAILABLE', message, {
    retryable: true,
    ...(retryAfter === undefined ? {} : { retryAfter }),
  });
}
