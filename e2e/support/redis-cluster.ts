export * from '../../server/src/limits/test-support/redis-cluster.js';
