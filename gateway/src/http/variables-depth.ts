import type { NextFunction, Request, Response } from 'express';
import { sendGraphQLError } from '@shop/kit';

/**
 * How deeply request variables may nest. The contract's deepest input (CheckoutInput's
 * address) is three levels; the margin leaves room for lists of inputs. Anything deeper is
 * hostile, and would otherwise reach code that recurses over the variables (cache keys,
 * coercion) and overflow its stack: a 500 instead of the client's error.
 */
export const MAX_VARIABLES_DEPTH = 32;

/** The nesting depth of a JSON value, measured without recursion; stops counting past `limit`. */
export function nestingDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (current === null || typeof current !== 'object') continue;
    const level = depth + 1;
    if (level > deepest) deepest = level;
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(current) ? current : Object.values(current)) pending.push([child, level]);
  }
  return deepest;
}

function variablesOf(req: Request): unknown {
  if (req.method === 'GET') {
    const text = (req.query as Record<string, unknown>).variables;
    if (typeof text !== 'string') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return undefined; // Apollo answers malformed variables itself
    }
  }
  return (req.body as { variables?: unknown } | undefined)?.variables;
}

/** Refuses variables nested deeper than MAX_VARIABLES_DEPTH with 400 BAD_USER_INPUT, POST or GET. */
export function variablesDepth(maxDepth = MAX_VARIABLES_DEPTH) {
  return (req: Request, res: Response, next: NextFunction) => {
    const variables = variablesOf(req);
    // The variables object itself is one level.
    if (variables !== undefined && nestingDepth(variables, maxDepth + 1) > maxDepth + 1) {
      sendGraphQLError(res, 400, 'BAD_USER_INPUT', `Variables nest deeper than ${maxDepth} levels`);
      return;
    }
    next();
  };
}
