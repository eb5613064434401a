export * from '../../server/src/test-support/fault-proxy.js';
