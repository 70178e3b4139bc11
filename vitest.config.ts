import { defineConfig } from 'vitest/config';

// SMP tests start real worker threads (one per vCPU), so keep test files from piling up on a
// 2-core machine, and give each test a deadline well above its expected time on a busy host.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
