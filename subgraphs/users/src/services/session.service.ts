import { createHash, randomBytes } from 'node:crypto';
import {
  currentTraceparent,
  issueAccessToken,
  isUuid,
  linkActiveSpanTo,
  REVOKED_MARK_TTL_MS,
  SESSION_STATE,
  sessionStateKey,
  startTimerLoop,
  UnauthenticatedError,
  withTransaction,
  type HasEntityManager,
  type KeyValueStore,
  type Logger,
  type TimerLoop,
  type TokenSigner,
} from '@shop/kit';
import { In, IsNull, Not, type EntityManager } from 'typeorm';
import { RefreshToken, Session, User } from '../entities';
import type { UsersMetrics } from '../metrics';

export interface AuthPayload {
  accessToken: string;
  refreshToken: string;
  expiresAt: Date;
  user: User;
}

export type RevocationReason = 'logout' | 'password_change' | 'refresh_reuse' | 'admin_bootstrap';


export const hashRefreshToken = (token: string) => createHash('sha256').update(token).digest('hex');

const DAY_MS = 24 * 60 * 60 * 1000;
const REFRESH_REFUSED = 'Refresh token is invalid, expired or already used; sign in again';

export interface SessionServiceOptions {
  signer: TokenSigner;
  accessTokenTtlSeconds: number;
  refreshTokenTtlDays: number;
  store: KeyValueStore;
  metrics: UsersMetrics;
  logger: Logger;
  onStoreError: (error: unknown) => void;
  publishIntervalMs: number;
}

/**
 * Sessions, refresh-token rotation and revocation. The database decides; the store gets a
 * REVOKED mark after each revoking transaction commits so the gateway refuses the session's
 * access tokens from the next request on. A mark that could not be written (store down)
 * stays `revocation_published = false` and the publisher loop writes it later.
 */
export class SessionService {
  constructor(private readonly options: SessionServiceOptions) {}

  /** Starts a session for `user` inside the caller's transaction and issues its tokens. */
  async open(tx: HasEntityManager, user: User): Promise<AuthPayload> {
    const expiresAt = new Date(Date.now() + this.options.refreshTokenTtlDays * DAY_MS);
    const session = await tx.em.save(tx.em.create(Session, { userId: user.id, expiresAt }));
    const refreshToken = await this.addRefreshToken(tx.em, session.id, expiresAt);
    return { ...this.accessToken(user, session.id), refreshToken, user };
  }

  /**
   * Exchanges a refresh token for a new pair. The token is claimed with a conditional update,
   * so of two concurrent uses exactly one wins; the loser, like anyone presenting a token
   * that was already used, ends the whole session.
   */
  async refresh(ctx: HasEntityManager, presented: string): Promise<AuthPayload> {
    const outcome = await withTransaction(ctx, async (tx) => {
      const token = await tx.em.findOne(RefreshToken, { where: { tokenHash: hashRefreshToken(presented) } });
      if (!token) return { kind: 'invalid' as const };
      const session = await tx.em.findOne(Session, { where: { id: token.sessionId } });
      if (!session || session.revokedAt) return { kind: 'invalid' as const };
      const now = new Date();
      if (token.expiresAt <= now || session.expiresAt <= now) return { kind: 'expired' as const };
      const claimed = token.usedAt
        ? 0
        : (
            await tx.em
              .createQueryBuilder()
              .update(RefreshToken)
              .set({ usedAt: () => 'now()' })
              .where('id = :id AND used_at IS NULL', { id: token.id })
              .execute()
          ).affected;
      if (claimed !== 1) {
        const revoked = await this.revokeIn(tx.em, { sessionIds: [session.id] });
        return { kind: 'reused' as const, revoked };
      }
      const user = await tx.em.findOne(User, { where: { id: session.userId } });
      if (!user) return { kind: 'invalid' as const };
      const expiresAt = new Date(now.getTime() + this.options.refreshTokenTtlDays * DAY_MS);
      await tx.em.update(Session, { id: session.id }, { expiresAt });
      const refreshToken = await this.addRefreshToken(tx.em, session.id, expiresAt);
      return { kind: 'ok' as const, payload: { ...this.accessToken(user, session.id), refreshToken, user } };
    });
    this.options.metrics.refreshes.inc({ outcome: outcome.kind === 'ok' ? 'success' : outcome.kind });
    if (outcome.kind === 'ok') return outcome.payload;
    if (outcome.kind === 'reused') {
      this.options.logger.warn({ sessions: outcome.revoked }, 'refresh token reused; session ended');
      await this.publish(ctx, outcome.revoked, 'refresh_reuse');
    }
    throw new UnauthenticatedError(REFRESH_REFUSED);
  }

  /** Is this session still active (exists, not revoked, not expired, and the user's when given)? */
  async isActive(ctx: HasEntityManager, sessionId: string | null | undefined, userId?: string): Promise<boolean> {
    if (!isUuid(sessionId)) return false;
    const session = await ctx.em.findOne(Session, { where: { id: sessionId } });
    if (!session || session.revokedAt || session.expiresAt <= new Date()) return false;
    return userId === undefined || session.userId === userId;
  }

  /**
   * Marks sessions revoked inside the caller's transaction and returns the ids it ended.
   * Call `publish` with them after the transaction commits.
   */
  async revokeIn(
    em: EntityManager,
    target: { sessionIds: string[]; userId?: string } | { userId: string; exceptSessionId?: string | null },
  ): Promise<string[]> {
    const query = em
      .createQueryBuilder()
      .update(Session)
      .set({ revokedAt: () => 'now()', revocationPublished: false, revocationTraceParent: currentTraceparent() ?? null })
      .where('revoked_at IS NULL');
    if ('sessionIds' in target) {
      const ids = target.sessionIds.filter(isUuid);
      if (ids.length === 0) return [];
      query.andWhere('id IN (:...ids)', { ids });
      if (target.userId) query.andWhere('user_id = :userId', { userId: target.userId });
    } else {
      query.andWhere('user_id = :userId', { userId: target.userId });
      if (target.exceptSessionId) query.andWhere('id <> :keep', { keep: target.exceptSessionId });
    }
    const result = await query.returning('id').execute();
    return (result.raw as { id: string }[]).map((row) => row.id);
  }

  /** Ends one session of a user (logout); nothing to do when it already ended. */
  async revoke(ctx: HasEntityManager, session: { sessionId: string; userId: string }, reason: RevocationReason): Promise<void> {
    const revoked = await withTransaction(ctx, (tx) =>
      this.revokeIn(tx.em, { sessionIds: [session.sessionId], userId: session.userId }),
    );
    await this.publish(ctx, revoked, reason);
  }

  /**
   * Writes REVOKED marks for sessions whose revocation has committed, and records which
   * marks reached the store. Never throws: the loop retries whatever is left.
   */
  async publish(ctx: HasEntityManager, sessionIds: string[], reason?: RevocationReason): Promise<void> {
    if (sessionIds.length === 0) return;
    if (reason) this.options.metrics.revocations.inc({ reason }, sessionIds.length);
    await this.writeMarks(ctx.em, sessionIds.map((id) => ({ id, revokedAt: new Date() })));
  }

  /** One pass of the publisher: revocations that have not reached the store yet. */
  async publishPending(em: EntityManager): Promise<number> {
    const pending = await em.find(Session, {
      select: { id: true, revokedAt: true, revocationTraceParent: true },
      where: { revocationPublished: false, revokedAt: Not(IsNull()) },
      order: { revokedAt: 'ASC' },
      take: 500,
    });
    // The pass publishes on behalf of the requests that revoked these sessions.
    linkActiveSpanTo(pending.map((s) => s.revocationTraceParent));
    const revoked = pending.filter((s): s is Session & { revokedAt: Date } => s.revokedAt !== null);
    return this.writeMarks(em, revoked.map((s) => ({ id: s.id, revokedAt: s.revokedAt })));
  }

  private async writeMarks(em: EntityManager, sessions: { id: string; revokedAt: Date }[]): Promise<number> {
    const published: string[] = [];
    for (const session of sessions) {
      // A mark only has to outlive the access tokens issued before the revocation.
      const ttlMs = REVOKED_MARK_TTL_MS - (Date.now() - session.revokedAt.getTime());
      try {
        if (ttlMs > 0) await this.options.store.set(sessionStateKey(session.id), SESSION_STATE.REVOKED, ttlMs);
        published.push(session.id);
      } catch (error) {
        this.options.onStoreError(error);
        break; // the store is down: leave the rest for the loop
      }
    }
    if (published.length > 0) {
      try {
        await em.update(Session, { id: In(published) }, { revocationPublished: true });
      } catch (error) {
        // The marks are written; the loop will write them once more, which is harmless.
        this.options.logger.warn({ err: error }, 'could not record published revocations');
        return 0;
      }
    }
    return published.length;
  }

  /** Retries unpublished revocations every few seconds until stopped. */
  startPublisher(em: EntityManager): TimerLoop {
    return startTimerLoop(() => this.publishPending(em), {
      name: 'revocation publisher',
      intervalMs: this.options.publishIntervalMs,
      logger: this.options.logger,
    });
  }

  private accessToken(user: User, sessionId: string) {
    const { token, expiresAt } = issueAccessToken(
      this.options.signer,
      { userId: user.id, role: user.role, sessionId },
      this.options.accessTokenTtlSeconds,
    );
    return { accessToken: token, expiresAt };
  }

  private async addRefreshToken(em: EntityManager, sessionId: string, expiresAt: Date): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await em.insert(RefreshToken, { sessionId, tokenHash: hashRefreshToken(token), expiresAt });
    return token;
  }
}
