/** The importers known to `gatehouse import <name>` and to the admin API. */
import type { Importer } from './types.js';
import { traefikImporter } from './traefik/importer.js';
import { kongImporter } from './kong/importer.js';

export const IMPORTERS: ReadonlyMap<string, Importer> = new Map<string, Importer>([
  [traefikImporter.name, traefikImporter],
  [kongImporter.name, kongImporter],
]);
