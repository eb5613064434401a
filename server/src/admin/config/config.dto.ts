/**
 * Response shapes of the declarative-config and version endpoints.
 */
import { Type } from '@sinclair/typebox';

const IssueSchema = Type.Object({ path: Type.String({ description: 'JSON Pointer into the document.' }), message: Type.String() });

export const ValidateResultSchema = Type.Object(
  { valid: Type.Boolean(), errors: Type.Array(IssueSchema) },
  { $id: 'ValidateResult' },
);

const BODY =
  'The entity in full in POST /config/diff. PUT /config leaves it out except for plugin instances: the bodies are the document sent and version `base_version`.';

const ChangeSchema = Type.Object({
  kind: Type.String(),
  key: Type.String(),
  before: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: BODY })),
  after: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: BODY })),
  fields: Type.Optional(Type.Array(Type.Object({ path: Type.String(), before: Type.Unknown(), after: Type.Unknown() }))),
});

export const DiffSchema = Type.Object(
  {
    created: Type.Array(ChangeSchema),
    updated: Type.Array(ChangeSchema),
    deleted: Type.Array(ChangeSchema),
    unchanged: Type.Integer(),
  },
  { $id: 'ConfigDiff' },
);

export const DiffResultSchema = Type.Object(
  {
    base_version: Type.Integer({ description: 'The store version the diff was computed against.' }),
    diff: DiffSchema,
    text: Type.String({ description: 'The diff as the CLI prints it.' }),
  },
  { $id: 'DiffResult' },
);

export const ApplyResultSchema = Type.Object(
  {
    dry_run: Type.Boolean(),
    changed: Type.Boolean(),
    version: Type.Integer({ description: 'The version now current (unchanged on a dry run or a no-op apply).' }),
    base_version: Type.Integer({ description: 'The version the apply was compared with.' }),
    diff: DiffSchema,
    text: Type.String(),
  },
  { $id: 'ApplyResult' },
);

export const VersionInfoSchema = Type.Object(
  { version: Type.Integer(), created_at: Type.String({ format: 'date-time' }), author: Type.String(), message: Type.String() },
  { $id: 'VersionInfo' },
);

export const RollbackResultSchema = Type.Object({ version: Type.Integer(), changed: Type.Boolean() }, { $id: 'RollbackResult' });
