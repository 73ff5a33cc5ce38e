import type { NextFunction, Request, Response } from 'express';
import { AppError, sendGraphQLError, type Logger } from '@shop/kit';
import '../context';
import type { Authenticator } from '../security/authentication';

/**
 * Who is calling: verifies the access token (and its session) and sets req.gatewayContext.
 * A refused token answers its own error (401); when the session cannot be checked at all the
 * request cannot be decided, so it gets a 503.
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
      if (error instanceof AppError) {
        sendGraphQLError(res, error.httpStatus, error.code, error.message);
        return;
      }
      logger.error({ err: error }, 'authentication failed unexpectedly');
      sendGraphQLError(
        res,
        503,
        'INTERNAL_SERVER_ERROR',
        `Cannot verify the session right now (request id ${req.requestId})`,
      );
    }
  };
}
