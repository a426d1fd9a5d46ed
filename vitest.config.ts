import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Cross-process tests fork real workers; on 2 cores, parallel files only fight for CPU.
    fileParallelism: false,
    pool: 'forks',
  },
});
