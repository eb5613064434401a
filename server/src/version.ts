/**
 * The gateway's version, read once from the server package so /status and the OpenAPI document
 * cannot drift from what was released.
 */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export const GATEHOUSE_VERSION = readVersion();
