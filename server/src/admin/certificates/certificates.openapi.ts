/** OpenAPI operations of the certificates API, merged into admin/openapi's OPERATIONS. */
import { CertificateListSchema, CertificateViewSchema, CertificateWriteSchema } from './certificates.dto.js';

export const CERTIFICATE_OPERATIONS = [
  { method: 'get', path: '/certificates', summary: 'List TLS certificates (never their keys)', tag: 'certificates', access: 'viewer', status: 200, response: CertificateListSchema },
  { method: 'post', path: '/certificates', summary: 'Add a certificate and its private key (stored encrypted)', tag: 'certificates', access: 'operator', body: CertificateWriteSchema, status: 201, response: CertificateViewSchema },
  { method: 'get', path: '/certificates/{name}', summary: 'Get a certificate (without its key)', tag: 'certificates', access: 'viewer', status: 200, response: CertificateViewSchema },
  { method: 'put', path: '/certificates/{name}', summary: 'Create or replace a certificate by name (renewals, ACME)', tag: 'certificates', access: 'operator', body: CertificateWriteSchema, status: 200, response: CertificateViewSchema },
  { method: 'delete', path: '/certificates/{name}', summary: 'Delete a certificate', tag: 'certificates', access: 'operator', status: 204 },
] as const;
