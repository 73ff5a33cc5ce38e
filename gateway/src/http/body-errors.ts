import type { NextFunction, Request, Response } from 'express';
import { sendGraphQLError } from '@shop/kit';

/** express.json's failures as the contract's errors: 413 over the size limit, 400 for bad JSON. */
export function bodyErrors(bodyLimitBytes: number) {
  return (error: Error & { type?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (error.type === 'entity.too.large') {
      sendGraphQLError(res, 413, 'BAD_REQUEST', `Request body exceeds the limit of ${bodyLimitBytes} bytes`);
      return;
    }
    if (error.type === 'entity.parse.failed') {
      sendGraphQLError(res, 400, 'BAD_REQUEST', 'Request body is not valid JSON');
      return;
    }
    next(error);
  };
}
