-- Issue 9 (upstream TLS): certificate verification, CAs, SNI override and the client certificate (a certificates entity's name).
-- AlterTable
ALTER TABLE "services" ADD COLUMN     "tls_verify" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "ca_certificates" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "tls_server_name" TEXT,
ADD COLUMN     "client_certificate" TEXT;
