export * from './databases';
export * from './keys';
export * from './redis-server';
export * from './processes';
export * from './graphql-client';
export * from './contract';
export * from './otlp-receiver';
export * from './metrics';
