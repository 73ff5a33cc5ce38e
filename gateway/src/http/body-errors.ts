import type { NextFunction, Request, Response } from 'express';
import { sendBodyNotJson, sendBodyTooLarge } from '@shop/kit';

/** express.json's failures as the contract's errors: 413 over the size limit, 400 for bad JSON. */
export function bodyErrors(bodyLimitBytes: number) {
  return (error: Error & { type?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (error.type === 'entity.too.large') {
      sendBodyTooLarge(res, bodyLimitBytes);
      return;
    }
    if (error.type === 'entity.parse.failed') {
      sendBodyNotJson(res);
      return;
    }
    next(error);
  };
}
