import { ForbiddenError, UnauthenticatedError } from './errors';
import type { Identity, Role } from './tokens';

export interface SignedInIdentity extends Identity {
  userId: string;
  role: Role;
  sessionId: string;
}

/** The signed-in caller, or UNAUTHENTICATED. */
export function requireUser(ctx: { identity: Identity }): SignedInIdentity {
  const { identity } = ctx;
  if (!identity.userId || !identity.role || !identity.sessionId) throw new UnauthenticatedError();
  return identity as SignedInIdentity;
}

/** A signed-in admin; anonymous callers get UNAUTHENTICATED, other users FORBIDDEN. */
export function requireAdmin(ctx: { identity: Identity }): SignedInIdentity {
  const user = requireUser(ctx);
  if (user.role !== 'ADMIN') throw new ForbiddenError('Only administrators can do this');
  return user;
}

export function isAdmin(ctx: { identity: Identity }): boolean {
  return ctx.identity.role === 'ADMIN' && Boolean(ctx.identity.userId);
}
