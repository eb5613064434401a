import { defineConfig } from 'vitest/config';

// Black-box tests start real processes (gateway, PostgreSQL, upstreams); one file at a time keeps the two
// cores from being oversubscribed and port use predictable.
export default defineConfig({
  test: {
    include: ['tests/**/*.e2e.ts'],
    testTimeout: 60_000,
    hookTimeout: 90_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
