import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.spec.ts'],
    testTimeout: 20_000,
    // Harnesses start PGlite (WebAssembly) and a Nest app: seconds on a quiet machine, but several times
    // that when two forks share the two cores with a browser test; a slow start is not a failure.
    hookTimeout: 120_000,
    pool: 'forks',
    // Vitest's default on this 2-core machine is one file at a time (cores - 1); most files wait on
    // PGlite, Redis or child processes for much of their run, so two at a time finish sooner.
    maxWorkers: 2,
  },
});
