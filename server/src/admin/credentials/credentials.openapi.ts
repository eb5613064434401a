/** OpenAPI operations of the credentials API, merged into admin/openapi's OPERATIONS. */
import { Type } from '@sinclair/typebox';
import { CredentialSchema } from '../../config/schema.js';
import { CredentialCreatedSchema, CredentialCreateSchema, CredentialListSchema, CredentialRotatedSchema, CredentialRotateSchema } from './credentials.dto.js';

const base = '/consumers/{username}/credentials';

export const CREDENTIAL_OPERATIONS = [
  { method: 'get', path: base, summary: "List a consumer's credentials (hashes only)", tag: 'consumers', access: 'viewer', status: 200, response: CredentialListSchema },
  { method: 'post', path: base, summary: 'Create a credential; the answer carries the clear secret once', tag: 'consumers', access: 'operator', body: CredentialCreateSchema, status: 201, response: CredentialCreatedSchema },
  { method: 'get', path: `${base}/{id}`, summary: 'Get a credential', tag: 'consumers', access: 'viewer', status: 200, response: CredentialSchema },
  { method: 'delete', path: `${base}/{id}`, summary: 'Delete a credential', tag: 'consumers', access: 'operator', status: 204 },
  { method: 'post', path: `${base}/{id}/rotate`, summary: 'Rotate: new credential, the old one expires after the overlap', tag: 'consumers', access: 'operator', body: CredentialRotateSchema, status: 201, response: CredentialRotatedSchema },
  { method: 'post', path: `${base}/{id}/revoke`, summary: 'Revoke a credential now', tag: 'consumers', access: 'operator', body: Type.Object({}, { description: 'Empty.' }), status: 200, response: CredentialSchema },
] as const;
