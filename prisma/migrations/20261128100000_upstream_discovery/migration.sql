-- Issue 9 (service discovery): an upstream's discovery block (DNS, etcd, ...); discovered targets themselves are never stored.
-- AlterTable
ALTER TABLE "upstreams" ADD COLUMN     "discovery" JSONB;
