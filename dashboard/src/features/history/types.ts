/**
 * Shapes of the config and version endpoints (server/src/admin/config/config.dto.ts).
 */

export interface VersionInfo {
  version: number;
  created_at: string;
  author: string;
  message: string;
}

export interface VersionPage {
  data: VersionInfo[];
  total: number;
  offset: number;
  limit: number;
}

/** The whole config document (GET /config, GET /versions/:n `document`); only diffed and shown here. */
export type ConfigDocument = Record<string, unknown>;

/** POST /config/diff and PUT /config answers. */
export interface DiffResult {
  base_version: number;
  text: string;
  diff: { created: unknown[]; updated: unknown[]; deleted: unknown[]; unchanged: number };
}

export interface ApplyResult extends DiffResult {
  dry_run: boolean;
  changed: boolean;
  version: number;
}
