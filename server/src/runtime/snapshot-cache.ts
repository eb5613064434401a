/**
 * The node's last applied config, kept in a local file (GATEHOUSE_CONFIG_CACHE) so that a node which starts
 * while PostgreSQL is unreachable can still serve what the cluster served last, instead of refusing to start.
 *
 * The file holds the document as the store holds it: credentials as hashes and ciphertexts only, never a clear
 * secret; it is still written 0600 because it describes the whole gateway.
 */
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ConfigDocument } from '../config/schema.js';

const FORMAT = 1;

export interface CachedSnapshot {
  version: number;
  document: ConfigDocument;
  /** When the node wrote it (ISO 8601), for the start-up log line. */
  writtenAt: string;
  /** The node that wrote it. */
  nodeId: string;
}

interface CacheFile {
  format: number;
  version: number;
  written_at: string;
  node_id: string;
  document: ConfigDocument;
}

/** The cached snapshot, or undefined when there is none or it is unreadable (a cache never blocks a start). */
export async function readSnapshotCache(file: string): Promise<CachedSnapshot | undefined> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(raw) as Partial<CacheFile>;
    if (parsed.format !== FORMAT || !Number.isInteger(parsed.version) || typeof parsed.document !== 'object' || parsed.document === null) return undefined;
    return { version: parsed.version!, document: parsed.document, writtenAt: String(parsed.written_at ?? ''), nodeId: String(parsed.node_id ?? '') };
  } catch {
    return undefined;
  }
}

export interface CacheLogger {
  warn(obj: object, msg: string): void;
}

/**
 * Writes snapshots one at a time: a burst of applies ends with the newest version on disk and at most one
 * write queued. Each write goes to a temporary file in the same folder and is renamed over the cache, so a
 * reader (or a crash) never sees half a file; several processes of one node (cluster mode) may share the path.
 */
export class SnapshotCacheWriter {
  private writing: Promise<void> | null = null;
  private next: CacheFile | null = null;
  private tmpSeq = 0;

  constructor(
    readonly file: string,
    private readonly nodeId: string,
    private readonly logger: CacheLogger,
  ) {}

  /** Queues `document` (resolves when it, or a newer one queued after it, is on disk). */
  write(document: ConfigDocument, version: number): Promise<void> {
    this.next = { format: FORMAT, version, written_at: new Date().toISOString(), node_id: this.nodeId, document };
    this.writing ??= this.drain().finally(() => {
      this.writing = null;
    });
    return this.writing;
  }

  /** Resolves once everything queued is written. */
  flush(): Promise<void> {
    return this.writing ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    while (this.next) {
      const entry = this.next;
      this.next = null;
      const tmp = `${this.file}.${process.pid}.${++this.tmpSeq}.tmp`;
      try {
        await mkdir(path.dirname(this.file), { recursive: true });
        await writeFile(tmp, JSON.stringify(entry), { mode: 0o600 });
        await rename(tmp, this.file);
      } catch (err) {
        await unlink(tmp).catch(() => undefined);
        this.logger.warn({ err: (err as Error).message, file: this.file }, 'could not write the config cache');
      }
    }
  }
}
