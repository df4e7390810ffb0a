import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['shared/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // One private redis-server and one s3rver for the whole run; each test file namespaces itself.
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    // Two cores: more files at once only makes the PDF work of each slower.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Any outbound connection from a test is a bug; see test/support/no-network.ts.
    setupFiles: ['test/support/no-network.ts'],
  },
});
