import { Counter, type Registry } from 'prom-client';

/** Account and session counters, on the service's own registry (served at /metrics). */
export interface UsersMetrics {
  registrations: Counter;
  logins: Counter<'outcome'>;
  refreshes: Counter<'outcome'>;
  revocations: Counter<'reason'>;
}

export function createUsersMetrics(registry: Registry): UsersMetrics {
  return {
    registrations: new Counter({
      name: 'users_registrations_total',
      help: 'Accounts registered',
      registers: [registry],
    }),
    logins: new Counter({
      name: 'users_logins_total',
      help: 'Login attempts by outcome (success, invalid_credentials, rate_limited)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    refreshes: new Counter({
      name: 'users_session_refreshes_total',
      help: 'refreshSession calls by outcome (success, invalid, expired, reused)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    revocations: new Counter({
      name: 'users_session_revocations_total',
      help: 'Sessions ended, by reason (logout, password_change, refresh_reuse, admin_bootstrap)',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}
