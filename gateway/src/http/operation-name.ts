import type { NextFunction, Request, Response } from 'express';

/** Names the request's operation for the access log and metrics (the kit's http base reads req.operationName). */
export function operationName() {
  return (req: Request, _res: Response, next: NextFunction) => {
    req.operationName = (req.body as { operationName?: string } | undefined)?.operationName ?? undefined;
    next();
  };
}
