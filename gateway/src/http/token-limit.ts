import type { NextFunction, Request, Response } from 'express';
import { sendGraphQLError } from '@shop/kit';
import { countTokens, tooComplex } from '../analysis/limits';

/** Refuses a document over the token limit before anything parses it, sent by POST or by GET. */
export function tokenLimit(maxTokens: number) {
  return (req: Request, res: Response, next: NextFunction) => {
    const query =
      req.method === 'GET'
        ? (req.query as Record<string, unknown>).query
        : (req.body as { query?: unknown } | undefined)?.query;
    if (typeof query === 'string' && countTokens(query, maxTokens) > maxTokens) {
      const error = tooComplex(`Query exceeds the token limit of ${maxTokens}`);
      sendGraphQLError(res, 400, 'OPERATION_TOO_COMPLEX', error.message);
      return;
    }
    next();
  };
}
