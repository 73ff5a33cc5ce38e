import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { TRACEPARENT_LENGTH } from '@shop/kit';

/**
 * One signed-in device. The users database is the source of truth for whether a session is
 * still active; the store only carries revocation marks so the gateway learns quickly.
 */
@Entity({ name: 'sessions' })
export class Session {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  /** Slides forward with each refresh (the lifetime of the newest refresh token). */
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  /** False until the revocation mark reached the store; a loop retries while Redis is down. */
  @Column({ name: 'revocation_published', type: 'boolean', default: false })
  revocationPublished!: boolean;

  /** The W3C traceparent of the revoking request (null when not tracing): the publisher's pass links to it. */
  @Column({ name: 'revocation_trace_parent', type: 'varchar', length: TRACEPARENT_LENGTH, nullable: true })
  revocationTraceParent!: string | null;
}
