-- DropIndex
DROP INDEX "credentials_kind_key_hash_idx";

-- AlterTable
ALTER TABLE "credentials" ADD COLUMN     "algorithm" TEXT,
ADD COLUMN     "key" TEXT,
ADD COLUMN     "rsa_public_key" TEXT,
ADD COLUMN     "secret_encrypted" TEXT,
ADD COLUMN     "tags" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- CreateIndex
CREATE INDEX "credentials_kind_key_idx" ON "credentials"("kind", "key");

-- CreateIndex
CREATE UNIQUE INDEX "credentials_kind_key_hash_key" ON "credentials"("kind", "key_hash");

