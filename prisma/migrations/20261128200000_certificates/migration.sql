-- Issue 9 (TLS listener): certificates of the HTTPS listener, chosen by SNI; the private key only encrypted (AES-256-GCM).
-- CreateTable
CREATE TABLE "certificates" (
    "name" TEXT NOT NULL,
    "cert" TEXT NOT NULL,
    "key_encrypted" TEXT NOT NULL,
    "snis" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "is_default" BOOLEAN NOT NULL DEFAULT false,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "certificates_pkey" PRIMARY KEY ("name")
);

