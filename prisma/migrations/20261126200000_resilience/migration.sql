-- Issue 5 (resilience): services' status retries and retry budget, upstreams' health checks.
-- AlterTable
ALTER TABLE "services" ADD COLUMN     "retry_budget" JSONB,
ADD COLUMN     "retry_on_statuses" INTEGER[] DEFAULT ARRAY[]::INTEGER[];

-- AlterTable
ALTER TABLE "upstreams" ADD COLUMN     "healthchecks" JSONB;

