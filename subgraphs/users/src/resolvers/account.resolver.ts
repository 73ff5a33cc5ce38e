import { requireUser } from '@shop/kit';
import type { UsersContext } from '../context';
import type {
  ChangePasswordInput,
  LoginInput,
  RegisterInput,
  UpdateProfileInput,
} from '../services/account.service';
import type { AuthPayload } from '../services/session.service';
import { ownView } from './user.resolver';

const payload = (auth: AuthPayload) => ({
  accessToken: auth.accessToken,
  refreshToken: auth.refreshToken,
  expiresAt: auth.expiresAt.toISOString(),
  // The caller is signing in as this user: they see their own personal fields.
  user: ownView(auth.user),
});

export const accountResolvers = {
  Query: {
    async me(_: unknown, __: unknown, ctx: UsersContext) {
      const { userId, sessionId } = ctx.identity;
      if (!userId) return null;
      if (!(await ctx.services.sessions.isActive(ctx, sessionId, userId))) return null;
      return ctx.loaders.userById.load(userId);
    },
  },
  Mutation: {
    async register(_: unknown, { input }: { input: RegisterInput }, ctx: UsersContext) {
      return payload(await ctx.services.accounts.register(ctx, input));
    },
    async login(_: unknown, { input }: { input: LoginInput }, ctx: UsersContext) {
      return payload(await ctx.services.accounts.login(ctx, input));
    },
    async refreshSession(_: unknown, { refreshToken }: { refreshToken: string }, ctx: UsersContext) {
      return payload(await ctx.services.sessions.refresh(ctx, refreshToken));
    },
    async logout(_: unknown, __: unknown, ctx: UsersContext) {
      const { sessionId, userId } = requireUser(ctx);
      await ctx.services.sessions.revoke(ctx, { sessionId, userId }, 'logout');
      return true;
    },
    async updateProfile(_: unknown, { input }: { input: UpdateProfileInput }, ctx: UsersContext) {
      return ctx.services.accounts.updateProfile(ctx, input);
    },
    async changePassword(_: unknown, { input }: { input: ChangePasswordInput }, ctx: UsersContext) {
      await ctx.services.accounts.changePassword(ctx, input);
      return true;
    },
  },
};
