-- Issue 11 (10,000 routes): PostgreSQL checks a foreign key from the referenced side with a query on the
-- referencing column. Without an index there, every route, service or consumer deleted or renamed scanned
-- all of plugin_instances: a 10,000-route apply with 5,000 route plugins took 14 s.
-- CreateIndex
CREATE INDEX "plugin_instances_service_idx" ON "plugin_instances"("service");

-- CreateIndex
CREATE INDEX "plugin_instances_route_idx" ON "plugin_instances"("route");

-- CreateIndex
CREATE INDEX "plugin_instances_consumer_idx" ON "plugin_instances"("consumer");
