/** Shapes of the developer portal's admin API answers (server/src/admin/developers/developers.dto.ts). */

export interface SignupResult {
  username: string;
  status: 'pending' | 'approved';
}

export interface Application {
  name: string;
  consumer: string;
  groups: string[];
  /** Keys neither revoked nor expired. */
  keys: number;
}

export interface ApiKey {
  id: string;
  status: 'active' | 'expired' | 'revoked';
  created_at?: string;
  expires_at?: string;
  revoked_at?: string;
}

/** A key as created or rotated: the only answer that carries the key itself. */
export interface ApiKeyCreated extends ApiKey {
  key: string;
}

export interface ApiKeyRotated {
  key: ApiKeyCreated;
  previous: ApiKey;
}

export interface AppLimit {
  id?: string;
  plugin: string;
  scope: 'global' | 'consumer';
  limits: Record<string, unknown>;
}

export interface UsagePoint {
  at: string;
  requests: number;
  errors: number;
  limited: number;
}

export interface Usage {
  application: string;
  consumer: string;
  minutes: number;
  data: UsagePoint[];
  totals: { requests: number; errors: number; limited: number };
}

export interface DeveloperApiRoute {
  name: string;
  hosts: string[];
  paths: string[];
  methods: string[];
  key_names: string[];
  key_in_header: boolean;
  key_in_query: boolean;
}

export interface DeveloperApi {
  service: string;
  routes: DeveloperApiRoute[];
  applications: string[];
  openapi: { source: 'inline' | 'url' | 'none'; url?: string; document?: Record<string, unknown>; error?: string };
}

/** `/me/applications/<app>` with the name encoded. */
export function appPath(app: string, rest = ''): string {
  return `/me/applications/${encodeURIComponent(app)}${rest}`;
}
