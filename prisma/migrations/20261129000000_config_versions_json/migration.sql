-- Issue 11 (config apply of 10,000 routes): version documents are written and read whole, never queried
-- inside; `json` stores the text as sent instead of parsing it into jsonb (3 MB in 2-3x less time).
-- AlterTable
ALTER TABLE "config_versions" ALTER COLUMN "document" SET DATA TYPE JSON;
