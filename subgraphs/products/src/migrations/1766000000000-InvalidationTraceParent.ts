import { traceParentColumnMigration } from '@shop/kit';

/** The traceparent of the catalog write that recorded an invalidation: the publisher bumping the cache version later links to it. */
export const InvalidationTraceParent1766000000000 = traceParentColumnMigration('InvalidationTraceParent1766000000000', 'cache_invalidations');
