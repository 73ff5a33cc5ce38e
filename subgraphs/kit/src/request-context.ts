import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';

/** What every log line and outgoing call of one request needs to know, without passing it around. */
export interface RequestScope {
  requestId: string;
}

/**
 * The one AsyncLocalStorage of a process: the request's scope and, when tracing, OpenTelemetry's
 * active context. A second store (OpenTelemetry's own context manager beside the request scope)
 * would make every promise the process creates propagate two stores instead of one.
 */
interface AsyncScope {
  requestId?: string;
  trace?: Context;
}

const storage = new AsyncLocalStorage<AsyncScope>();

export const REQUEST_ID_HEADER = 'x-request-id';
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Keeps a client's request id when it is sane (contract: 1-128 of A-Z a-z 0-9 . _ : -), else makes one. */
export function acceptRequestId(candidate: string | string[] | undefined): string {
  const value = Array.isArray(candidate) ? candidate[0] : candidate;
  return value && SANE_REQUEST_ID.test(value) ? value : randomUUID();
}

/** Runs `fn` in a request's scope; `trace` is the OpenTelemetry context it runs in (its server span), when tracing. */
export function runInRequestScope<T>(scope: RequestScope, fn: () => T, trace?: Context): T {
  return storage.run({ requestId: scope.requestId, trace: trace ?? storage.getStore()?.trace }, fn);
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** Runs `fn` with `context` active, in the request scope it is called from. */
function inTraceContext<T>(context: Context, fn: () => T): T {
  return storage.run({ requestId: storage.getStore()?.requestId, trace: context }, fn);
}

/**
 * OpenTelemetry's context manager, kept in the request scope's store (registered by tracing.ts
 * in place of the SDK's AsyncLocalStorageContextManager). Functions are bound to a context;
 * event emitters are not (nothing the platform loads asks for that).
 */
export class RequestScopeContextManager implements ContextManager {
  active(): Context {
    return storage.getStore()?.trace ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return inTraceContext(context, () => fn.apply(thisArg, args));
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const original = target as unknown as (...args: unknown[]) => unknown;
    return function (this: unknown, ...args: unknown[]) {
      return inTraceContext(context, () => original.apply(this, args));
    } as unknown as T;
  }

  enable(): this {
    return this;
  }

  /** Nothing to release: the store is the request scope's, which lives on without tracing. */
  disable(): this {
    return this;
  }
}
