/** One jest run covers every package and the cross-package tests in test/. */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  moduleNameMapper: { '^@civitas/([a-z-]+)$': '<rootDir>/packages/$1/src' },
  testMatch: ['<rootDir>/packages/*/test/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
  testTimeout: 60000,
  // Most suites wait on PostgreSQL, brokers and timers rather than compute: two workers overlap those waits even on two cores.
  maxWorkers: 2,
  // The embedded stores start from one migrated database made once per run (test/support/pgliteTemplate.ts).
  globalSetup: '<rootDir>/test/support/globalSetup.ts',
  globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
};
