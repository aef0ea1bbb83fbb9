/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 30000,
  // The stand-in Slack is strict: any Block Kit violation fails the test that caused it.
  setupFilesAfterEnv: ['<rootDir>/test/helpers/lintGate.ts'],
  // Slack-level and store tests share one Redis; each test uses its own namespace.
  maxWorkers: 2,
};
