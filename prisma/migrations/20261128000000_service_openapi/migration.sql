-- Issue 8 (developer portal): the OpenAPI document attached to a service (url and/or inline document).
-- AlterTable
ALTER TABLE "services" ADD COLUMN     "openapi" JSONB;
