export * from '../../server/src/observability/test-support/otlp-receiver.js';
