/**
 * Shapes of `POST /config/import/:format`: the converted document, the importer's report entry by entry,
 * and what the config check says about the document (it is returned even when invalid, so the user can
 * see why before anything is applied).
 */
import { Type, type Static } from '@sinclair/typebox';
import { ConfigDocumentSchema } from '../../config/schema.js';

export const ImportReportEntrySchema = Type.Object(
  {
    outcome: Type.Union([Type.Literal('mapped'), Type.Literal('approximated'), Type.Literal('unmapped')], {
      description: '`mapped`: behaves the same; `approximated`: converted with the differences in `message`; `unmapped`: dropped, for the reason in `message`.',
    }),
    source: Type.String({ description: 'Where in the input file, as a readable path, e.g. `services[0].routes[2].plugins[1] (rate-limiting)`.' }),
    target: Type.Optional(Type.String({ description: 'The Gatehouse entity it became, e.g. `routes/orders-list`; absent when unmapped.' })),
    message: Type.String({ description: 'Why it was approximated or not mapped; a short note (often empty) when mapped.' }),
  },
  { $id: 'ImportReportEntry' },
);

export const ImportResultSchema = Type.Object(
  {
    format: Type.String({ description: 'The importer that converted the file (`kong`, `traefik`).' }),
    document: ConfigDocumentSchema,
    report: Type.Array(ImportReportEntrySchema, { description: 'One entry per input element; nothing is dropped without an entry.' }),
    counts: Type.Object(
      { mapped: Type.Integer(), approximated: Type.Integer(), unmapped: Type.Integer() },
      { description: 'Report entries per outcome.' },
    ),
    issues: Type.Array(Type.Object({ path: Type.String({ description: 'JSON Pointer into `document`.' }), message: Type.String() }), {
      description: 'Why the converted document would be refused by `PUT /config`; empty when it is valid.',
    }),
  },
  { $id: 'ImportResult' },
);
export type ImportResultDto = Static<typeof ImportResultSchema>;

export const IMPORT_SCHEMAS = [ImportReportEntrySchema, ImportResultSchema];
