/**
 * What every importer (another gateway's config format → Gatehouse's document) returns: the document and
 * a report that tells the user, entry by entry, what was mapped, what was only approximated and what
 * could not be mapped at all. A migration is only trustworthy when nothing is dropped silently, so every
 * input element an importer does not map exactly must appear in the report.
 */
import type { ConfigDocument } from '../config/schema.js';

export type ImportOutcome = 'mapped' | 'approximated' | 'unmapped';

export interface ImportReportEntry {
  outcome: ImportOutcome;
  /** Where in the input, as a readable path, e.g. `services[0].routes[2].plugins[1] (rate-limiting)`. */
  source: string;
  /** The Gatehouse entity it became, e.g. `routes/orders-list`; absent when unmapped. */
  target?: string;
  /** Why it was approximated or not mapped; for `mapped`, a short note (may be empty). */
  message: string;
}

export interface ImportResult {
  document: ConfigDocument;
  report: ImportReportEntry[];
}

export class ImportInputError extends Error {
  override name = 'ImportInputError';
  constructor(
    message: string,
    /** Readable path into the input where the problem is, when known. */
    readonly source?: string,
  ) {
    super(message);
  }
}

export interface Importer {
  /** Name used on the command line: `gatehouse import <name> <file>`. */
  readonly name: string;
  readonly description: string;
  /** Throws ImportInputError when the input is not a file of this format at all. */
  convert(text: string, fileName: string): ImportResult;
}
