/** OpenAPI operation of the importers' endpoint, merged into admin/openapi's OPERATIONS. */
import { Type } from '@sinclair/typebox';
import { IMPORTERS } from '../../importers/index.js';
import type { OperationSpec } from '../openapi/openapi.builder.js';
import { ImportResultSchema } from './import.dto.js';

const FILE = Type.String({ description: "The other gateway's configuration file, as it is on disk (YAML, JSON or TOML)." });

export const IMPORT_OPERATIONS: readonly OperationSpec[] = [
  {
    method: 'post',
    path: '/config/import/{format}',
    summary: `Convert another gateway's configuration (format: ${[...IMPORTERS.keys()].join(', ')}) into a Gatehouse document with a report; applies nothing`,
    tag: 'config',
    access: 'operator',
    consumes: { 'text/plain': FILE, 'application/yaml': FILE, 'application/json': Type.Unknown({ description: 'A JSON file (e.g. a decK file exported as JSON).' }) },
    query: [
      {
        name: 'filename',
        schema: Type.String({ description: 'Name of the uploaded file; its extension (`.toml`, `.yaml`, `.json`) tells the importer how to parse it.' }),
        description: 'Name of the uploaded file; its extension (`.toml`, `.yaml`, `.json`) tells the importer how to parse it.',
      },
    ],
    status: 200,
    response: ImportResultSchema,
    problems: { 404: 'No importer for this format', 422: 'The file is not a configuration of this format (`GW_ERR_IMPORT_INVALID`)' },
  },
];
