// Build, dev-server and test configuration of the dashboard: a static bundle the admin listener serves at `/`.
import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

/** Admin API paths the dev server forwards to a locally running gateway. */
const API_PATHS = ['/auth', '/status', '/health', '/services', '/routes', '/upstreams', '/consumers', '/plugins', '/plugins-available', '/schemas', '/config', '/versions', '/admin-users', '/openapi.json'];
const ADMIN = process.env.GATEHOUSE_ADMIN_URL ?? 'http://127.0.0.1:8001';

export default defineConfig({
  plugins: [react()],
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, target: 'es2022' },
  server: {
    host: '127.0.0.1',
    proxy: {
      ...Object.fromEntries([...API_PATHS, '/errors', '/resilience'].map((p) => [p, { target: ADMIN, changeOrigin: false }])),
      // The Overview's live stream (socket.io over WebSocket).
      '/live': { target: ADMIN, changeOrigin: false, ws: true },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.spec.{ts,tsx}'],
    setupFiles: ['src/test-support/setup.ts'],
    testTimeout: 15_000,
  },
});
