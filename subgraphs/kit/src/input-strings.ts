import type { ApolloServerPlugin } from '@apollo/server';
import { visit, type DocumentNode } from 'graphql';
import { BadUserInputError } from './errors';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text that no service can store or compare faithfully: NUL (Postgres refuses it in text and
 * answers with an error that used to reach clients as INTERNAL_SERVER_ERROR) and UTF-16
 * surrogates without their pair (not a character; encoders replace or reject them).
 */
export function malformedText(value: string): 'a NUL character' | 'an unpaired UTF-16 surrogate' | undefined {
  if (value.includes('\u0000')) return 'a NUL character';
  if (LONE_SURROGATE.test(value)) return 'an unpaired UTF-16 surrogate';
  return undefined;
}

/**
 * The path (`filter.search`, `lines.0.productId`) of the first malformed string anywhere in
 * `value`, keys included. Walks with its own stack: the nesting depth is the caller's choice.
 */
export function findMalformedString(value: unknown, root = ''): { path: string; problem: string } | undefined {
  const pending: { value: unknown; path: string }[] = [{ value, path: root }];
  while (pending.length > 0) {
    const { value: current, path } = pending.pop()!;
    if (typeof current === 'string') {
      const problem = malformedText(current);
      if (problem) return { path: path || '(value)', problem };
    } else if (current !== null && typeof current === 'object') {
      for (const [key, child] of Object.entries(current)) {
        const childPath = path ? `${path}.${key}` : key;
        const problem = malformedText(key);
        if (problem) return { path: childPath, problem };
        pending.push({ value: child, path: childPath });
      }
    }
  }
  return undefined;
}

/** The first malformed string literal written into the document itself (not a variable). */
export function findMalformedLiteral(document: DocumentNode): { path: string; problem: string } | undefined {
  let found: { path: string; problem: string } | undefined;
  let argument = '';
  visit(document, {
    Argument: {
      enter(node) {
        argument = node.name.value;
      },
    },
    StringValue(node) {
      const problem = malformedText(node.value);
      if (problem && !found) found = { path: argument || '(literal)', problem };
    },
  });
  return found;
}

export function malformedInputError(found: { path: string; problem: string }, extra: Record<string, unknown> = {}) {
  // The path of a value nested thousands deep would dwarf the message.
  const path = found.path.length > 120 ? `${found.path.slice(0, 120)}…` : found.path;
  return new BadUserInputError(`Argument ${path} must not contain ${found.problem}`, { argument: path, ...extra });
}

/**
 * Refuses, before any resolver runs, an operation whose variables or inline arguments carry
 * malformed text (see malformedText), so no service has to remember to check: every subgraph
 * gets this plugin from startSubgraph, and internal routes check their bodies the same way.
 */
export function malformedInputPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          const found = findMalformedString(request.variables ?? {}) ?? findMalformedLiteral(document);
          // Answered with HTTP 200 like any other BAD_USER_INPUT: the gateway relays a GraphQL
          // error with its code, while a non-2xx answer would reach clients as a transport failure.
          if (found) throw malformedInputError(found, { http: { status: 200 } });
        },
      };
    },
  };
}
