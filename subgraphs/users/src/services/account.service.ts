import { randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';
import {
  ConflictError,
  requireUser,
  UnauthenticatedError,
  withTransaction,
  type HasEntityManager,
  type Identity,
  type Logger,
  type WorkQueue,
  uniqueViolation,
} from '@shop/kit';
import { User } from '../entities';
import type { UsersMetrics } from '../metrics';
import { byteLength, normaliseEmail, normaliseName, PASSWORD_MAX_BYTES, validatePassword } from './account-rules';
import type { LoginLimiter } from './login-limiter';
import type { AuthPayload, SessionService } from './session.service';

export interface RegisterInput {
  email: string;
  password: string;
  firstName?: string | null;
  lastName?: string | null;
}
export interface LoginInput {
  email: string;
  password: string;
}
export interface UpdateProfileInput {
  firstName?: string | null;
  lastName?: string | null;
}
export interface ChangePasswordInput {
  currentPassword: string;
  newPassword: string;
}

type Ctx = HasEntityManager & { identity: Identity };

const INVALID_CREDENTIALS = 'invalid email or password';

function isUniqueViolation(error: unknown, constraint: string): boolean {
  return uniqueViolation(error) === constraint;
}

/** Registration, sign-in and the signed-in user's own account. */
export class AccountService {
  /** Compared against on unknown emails so that timing does not tell which emails exist. */
  private readonly dummyHash: Promise<string>;

  constructor(
    private readonly options: {
      bcryptCost: number;
      /** Every bcrypt hash and comparison queues here (bounded concurrency, refused when the wait is too long). */
      passwordWork: WorkQueue;
      sessions: SessionService;
      limiter: LoginLimiter;
      metrics: UsersMetrics;
      logger: Logger;
    },
  ) {
    // Through the queue: its duration is the queue's first measure of one bcrypt.
    this.dummyHash = this.hash(randomBytes(16).toString('hex'));
  }

  /** Resolves once one bcrypt has run, so the queue can estimate waits from the first burst on. */
  async calibrated(): Promise<void> {
    await this.dummyHash;
  }

  private hash(password: string) {
    return this.options.passwordWork.run(() => bcrypt.hash(password, this.options.bcryptCost));
  }

  /** bcrypt would compare only the first 72 bytes, so a longer candidate never matches. */
  private async matches(password: string, hash: string): Promise<boolean> {
    const ok = await this.options.passwordWork.run(() => bcrypt.compare(password, hash));
    return ok && byteLength(password) <= PASSWORD_MAX_BYTES;
  }

  async register(ctx: Ctx, input: RegisterInput): Promise<AuthPayload> {
    const email = normaliseEmail(input.email);
    const password = validatePassword(input.password);
    const firstName = normaliseName(input.firstName, 'firstName') ?? null;
    const lastName = normaliseName(input.lastName, 'lastName') ?? null;
    if (await ctx.em.exists(User, { where: { email } })) return this.registerAgain(ctx, email, password);
    const passwordHash = await this.hash(password);
    try {
      const payload = await withTransaction(ctx, async (tx) => {
        // The unique index decides between concurrent registrations of one email.
        const user = await tx.em.save(tx.em.create(User, { email, passwordHash, firstName, lastName, role: 'CUSTOMER' }));
        return this.options.sessions.open(tx, user);
      });
      this.options.metrics.registrations.inc();
      return payload;
    } catch (error) {
      if (isUniqueViolation(error, 'users_email_key')) return this.registerAgain(ctx, email, password);
      throw error;
    }
  }

  /**
   * The email is taken. With the same password this is a retry of a registration whose answer
   * the client never saw (a timeout after the account was created, a double submit): it signs
   * in, answering like the registration would have. With another password it is CONFLICT. It
   * goes through login, so the per-account failed sign-in limit guards this path as well.
   */
  private async registerAgain(ctx: Ctx, email: string, password: string): Promise<AuthPayload> {
    try {
      return await this.login(ctx, { email, password });
    } catch (error) {
      if (error instanceof UnauthenticatedError) throw new ConflictError('An account with this email is already registered');
      throw error;
    }
  }

  async login(ctx: Ctx, input: LoginInput): Promise<AuthPayload> {
    const { limiter, metrics, sessions } = this.options;
    const email = normaliseEmail(input.email);
    if (byteLength(input.password) > PASSWORD_MAX_BYTES) validatePassword(input.password);
    try {
      // Reserved before the password is checked, so parallel guesses are counted too.
      await limiter.reserve(email);
    } catch (error) {
      metrics.logins.inc({ outcome: 'rate_limited' });
      throw error;
    }
    const user = await ctx.em.findOne(User, { where: { email } });
    const ok = await this.matches(input.password, user?.passwordHash ?? (await this.dummyHash));
    if (!user || !ok) {
      metrics.logins.inc({ outcome: 'invalid_credentials' });
      throw new UnauthenticatedError(INVALID_CREDENTIALS);
    }
    const payload = await withTransaction(ctx, (tx) => sessions.open(tx, user));
    await limiter.reset(email);
    metrics.logins.inc({ outcome: 'success' });
    return payload;
  }

  /** The signed-in user, or UNAUTHENTICATED when the calling session has ended. */
  async current(ctx: Ctx): Promise<User> {
    const identity = requireUser(ctx);
    const user = (await this.options.sessions.isActive(ctx, identity.sessionId, identity.userId))
      ? await ctx.em.findOne(User, { where: { id: identity.userId } })
      : null;
    if (!user) throw new UnauthenticatedError('Your session has ended; sign in again');
    return user;
  }

  async updateProfile(ctx: Ctx, input: UpdateProfileInput): Promise<User> {
    const user = await this.current(ctx);
    const firstName = normaliseName(input.firstName, 'firstName');
    const lastName = normaliseName(input.lastName, 'lastName');
    const changes: Partial<User> = {};
    if (firstName !== undefined) changes.firstName = firstName;
    if (lastName !== undefined) changes.lastName = lastName;
    if (Object.keys(changes).length === 0) return user;
    await ctx.em.update(User, { id: user.id }, { ...changes, updatedAt: new Date() });
    return { ...user, ...changes };
  }

  /** Keeps the calling session and ends every other session of the user. */
  async changePassword(ctx: Ctx, input: ChangePasswordInput): Promise<void> {
    const { limiter, sessions } = this.options;
    const user = await this.current(ctx);
    const newPassword = validatePassword(input.newPassword, 'newPassword');
    // Guessing the current password with a stolen access token counts as failed sign-ins.
    await limiter.reserve(user.email);
    if (!(await this.matches(input.currentPassword, user.passwordHash)))
      throw new UnauthenticatedError('The current password is not correct');
    await limiter.reset(user.email);
    const passwordHash = await this.hash(newPassword);
    const revoked = await withTransaction(ctx, async (tx) => {
      await tx.em.update(User, { id: user.id }, { passwordHash, updatedAt: new Date() });
      return sessions.revokeIn(tx.em, { userId: user.id, exceptSessionId: ctx.identity.sessionId });
    });
    await sessions.publish(ctx, revoked, 'password_change');
  }

  /**
   * Start-up: the configured admin account exists with role ADMIN and the given password.
   * When that changes an existing account (promotion or new password), its sessions end, so
   * nobody who registered the address first keeps a way in.
   */
  async ensureAdmin(ctx: HasEntityManager, rawEmail: string, password: string): Promise<'created' | 'updated' | 'unchanged'> {
    const email = normaliseEmail(rawEmail);
    validatePassword(password, 'ADMIN_PASSWORD');
    const existing = await ctx.em.findOne(User, { where: { email } });
    if (existing && existing.role === 'ADMIN' && (await this.matches(password, existing.passwordHash))) return 'unchanged';
    const passwordHash = await this.hash(password);
    const { result, revoked } = await withTransaction(ctx, async (tx) => {
      const insert = await tx.em.query(
        `INSERT INTO users (email, password_hash, role) VALUES ($1, $2, 'ADMIN')
         ON CONFLICT (email) DO UPDATE SET role = 'ADMIN', password_hash = EXCLUDED.password_hash, updated_at = now()
         RETURNING id, (xmax = 0) AS inserted`,
        [email, passwordHash],
      );
      const [{ id, inserted }] = insert as { id: string; inserted: boolean }[];
      if (inserted) return { result: 'created' as const, revoked: [] as string[] };
      return { result: 'updated' as const, revoked: await this.options.sessions.revokeIn(tx.em, { userId: id }) };
    });
    await this.options.sessions.publish(ctx, revoked, 'admin_bootstrap');
    this.options.logger.info({ email, result }, 'admin account ensured');
    return result;
  }
}
