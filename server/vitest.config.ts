import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.spec.ts'],
    testTimeout: 20_000,
    // Harnesses start PGlite (WebAssembly) and a Nest app: seconds on a quiet machine, but several times
    // that when two forks share the two cores with a browser test; a slow start is not a failure.
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
