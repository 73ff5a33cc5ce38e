// One Jest configuration for every workspace ("preset": "<root>/jest.preset.js").
// Tests import workspace packages from source, so a test run never needs a prior build;
// e2e tests start the built services as separate processes (turbo builds them first).
const path = require('node:path');

module.exports = {
  testEnvironment: 'node',
  testMatch: ['**/*.spec.ts', '**/*.e2e.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(__dirname, 'tsconfig.json') }],
  },
  moduleNameMapper: {
    '^@shop/kit$': path.join(__dirname, 'subgraphs/kit/src/index.ts'),
    '^@shop/kit/(.*)$': path.join(__dirname, 'subgraphs/kit/src/$1'),
  },
  setupFiles: [path.join(__dirname, 'subgraphs/kit/src/testing/jest-setup.ts')],
  reporters: ['default', path.join(__dirname, 'scripts/jest-summary-reporter.js')],
  testTimeout: 60_000,
  // Services under test hold pools and timers; tests close what they open, this only
  // keeps a forgotten handle from hanging CI.
  forceExit: true,
};
