import { defineConfig } from 'vitest/config';

// Integration tests share one real control plane per worker and network
// namespaces; keep parallelism modest on a 2-core machine.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 240_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
