import { traceParentColumnMigration } from '@shop/kit';

/** The traceparent of the request that revoked a session: the publisher writing the mark later (Redis was down) links to it. */
export const RevocationTraceParent1766000000000 = traceParentColumnMigration('RevocationTraceParent1766000000000', 'sessions', 'revocation_trace_parent');
