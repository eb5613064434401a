/**
 * The shapes of the admin API answers the status page reads (a subset; the server's schemas are the reference).
 */

export interface GatewayStatus {
  version: string;
  node_id: string;
  started_at: string;
  uptime_seconds: number;
  config_version: number;
  config_applied_at: string | null;
  config_source: 'pglite' | 'postgres' | 'file';
  store_reachable: boolean;
  store_error: string | null;
  snapshot_errors: { path: string; message: string }[];
  connections: { active: number; total: number };
  requests_total: number;
  routes: number;
}

export interface Service {
  name: string;
  url?: string;
  protocol?: 'http' | 'https';
  host?: string;
  port?: number;
  path?: string;
  enabled: boolean;
  tags: string[];
}

export interface Route {
  name: string;
  service?: string;
  hosts: string[];
  paths: string[];
  methods: string[];
  enabled: boolean;
  tags: string[];
}
