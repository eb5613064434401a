/**
 * Shapes of `POST /config/import/:format` (server/src/admin/import/import.dto.ts).
 */
import type { ConfigDocument } from '../history/types';

export type ImportOutcome = 'mapped' | 'approximated' | 'unmapped';

export interface ImportReportEntry {
  outcome: ImportOutcome;
  source: string;
  target?: string;
  message: string;
}

export interface ImportResult {
  format: string;
  document: ConfigDocument;
  report: ImportReportEntry[];
  counts: Record<ImportOutcome, number>;
  issues: { path: string; message: string }[];
}

/** The importers the server knows (server/src/importers/index.ts), with how the page names them. */
export const FORMATS = [
  { id: 'kong', label: 'Kong decK (_format_version 3.0)' },
  { id: 'traefik', label: 'Traefik (dynamic config YAML/TOML, IngressRoute)' },
] as const;

export type FormatId = (typeof FORMATS)[number]['id'];
