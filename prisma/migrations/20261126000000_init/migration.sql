-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "services" (
    "name" TEXT NOT NULL,
    "url" TEXT,
    "protocol" TEXT,
    "host" TEXT,
    "port" INTEGER,
    "path" TEXT,
    "connect_timeout" INTEGER NOT NULL,
    "write_timeout" INTEGER NOT NULL,
    "read_timeout" INTEGER NOT NULL,
    "retries" INTEGER NOT NULL,
    "enabled" BOOLEAN NOT NULL,
    "tags" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "services_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "routes" (
    "name" TEXT NOT NULL,
    "service" TEXT,
    "hosts" TEXT[],
    "paths" TEXT[],
    "methods" TEXT[],
    "headers" JSONB,
    "query" JSONB,
    "priority" INTEGER NOT NULL,
    "strip_path" BOOLEAN NOT NULL,
    "preserve_host" BOOLEAN NOT NULL,
    "rewrite" TEXT,
    "protocols" TEXT[],
    "enabled" BOOLEAN NOT NULL,
    "tags" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "routes_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "upstreams" (
    "name" TEXT NOT NULL,
    "algorithm" TEXT NOT NULL,
    "hash_on" TEXT NOT NULL,
    "hash_on_header" TEXT,
    "hash_on_cookie" TEXT,
    "keepalive_connections" INTEGER NOT NULL,
    "keepalive_timeout" INTEGER NOT NULL,
    "tags" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "upstreams_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "targets" (
    "id" SERIAL NOT NULL,
    "upstream" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "target" TEXT NOT NULL,
    "weight" INTEGER NOT NULL,
    "tags" TEXT[],

    CONSTRAINT "targets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "consumers" (
    "username" TEXT NOT NULL,
    "custom_id" TEXT,
    "groups" TEXT[],
    "tags" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "consumers_pkey" PRIMARY KEY ("username")
);

-- CreateTable
CREATE TABLE "credentials" (
    "id" UUID NOT NULL,
    "consumer" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "key_hash" TEXT,
    "secret_hash" TEXT,
    "expires_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "credentials_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "plugin_instances" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "service" TEXT,
    "route" TEXT,
    "consumer" TEXT,
    "scope_key" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL,
    "config" JSONB NOT NULL,
    "tags" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "plugin_instances_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "admin_users" (
    "id" UUID NOT NULL,
    "username" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "admin_users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "config_versions" (
    "version" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "author" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "document" JSONB NOT NULL,

    CONSTRAINT "config_versions_pkey" PRIMARY KEY ("version")
);

-- CreateTable
CREATE TABLE "config_state" (
    "id" INTEGER NOT NULL,
    "version" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "config_state_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "settings" (
    "key" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "settings_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "routes_service_idx" ON "routes"("service");

-- CreateIndex
CREATE UNIQUE INDEX "targets_upstream_target_key" ON "targets"("upstream", "target");

-- CreateIndex
CREATE INDEX "credentials_consumer_idx" ON "credentials"("consumer");

-- CreateIndex
CREATE INDEX "credentials_kind_key_hash_idx" ON "credentials"("kind", "key_hash");

-- CreateIndex
CREATE UNIQUE INDEX "plugin_instances_scope_key_key" ON "plugin_instances"("scope_key");

-- CreateIndex
CREATE INDEX "plugin_instances_name_idx" ON "plugin_instances"("name");

-- CreateIndex
CREATE UNIQUE INDEX "admin_users_username_key" ON "admin_users"("username");

-- AddForeignKey
ALTER TABLE "routes" ADD CONSTRAINT "routes_service_fkey" FOREIGN KEY ("service") REFERENCES "services"("name") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "targets" ADD CONSTRAINT "targets_upstream_fkey" FOREIGN KEY ("upstream") REFERENCES "upstreams"("name") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credentials" ADD CONSTRAINT "credentials_consumer_fkey" FOREIGN KEY ("consumer") REFERENCES "consumers"("username") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "plugin_instances" ADD CONSTRAINT "plugin_instances_service_fkey" FOREIGN KEY ("service") REFERENCES "services"("name") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "plugin_instances" ADD CONSTRAINT "plugin_instances_route_fkey" FOREIGN KEY ("route") REFERENCES "routes"("name") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "plugin_instances" ADD CONSTRAINT "plugin_instances_consumer_fkey" FOREIGN KEY ("consumer") REFERENCES "consumers"("username") ON DELETE RESTRICT ON UPDATE CASCADE;


-- Seed: the single config_state row writers lock (version 0 = empty configuration).
INSERT INTO "config_state" ("id", "version") VALUES (1, 0);
