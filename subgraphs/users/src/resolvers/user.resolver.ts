import { isAdmin } from '@shop/kit';
import type { UsersContext } from '../context';
import type { User } from '../entities';

/** User objects handed to the person who just proved to be that user (register, login, refresh). */
const ownViews = new WeakSet<object>();
export function ownView(user: User): User {
  const view = { ...user };
  ownViews.add(view);
  return view;
}

/** Personal fields are for the user themself and for admins; other callers get null. */
function mayReadPersonal(user: User, ctx: UsersContext): boolean {
  return ownViews.has(user) || ctx.identity.userId === user.id || isAdmin(ctx);
}

export const userResolvers = {
  User: {
    __resolveReference(reference: { id: string }, ctx: UsersContext) {
      return ctx.loaders.userById.load(reference.id);
    },
    email: (user: User, _: unknown, ctx: UsersContext) => (mayReadPersonal(user, ctx) ? user.email : null),
    firstName: (user: User, _: unknown, ctx: UsersContext) => (mayReadPersonal(user, ctx) ? user.firstName : null),
    lastName: (user: User, _: unknown, ctx: UsersContext) => (mayReadPersonal(user, ctx) ? user.lastName : null),
    createdAt: (user: User) => user.createdAt.toISOString(),
  },
};
