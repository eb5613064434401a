/** Bodies and answers of `/certificates` (TypeBox: validation and OpenAPI from one source). */
import { Type, type Static } from '@sinclair/typebox';
import { CertificateSchema } from '../../config/schema.js';

const Snis = CertificateSchema.properties.snis;

export const CertificateWriteSchema = Type.Object(
  {
    name: Type.Optional(CertificateSchema.properties.name),
    cert: CertificateSchema.properties.cert,
    key: Type.String({
      minLength: 1,
      maxLength: 65_536,
      pattern: '-----BEGIN [A-Z ]*PRIVATE KEY-----',
      description: 'PEM private key of the leaf. Stored encrypted (AES-256-GCM under GATEHOUSE_SECRET_KEY); never returned.',
    }),
    snis: Type.Optional({ ...Snis, description: `${Snis.description} Default: the certificate's DNS subjectAltNames (else its CN).` }),
    default: Type.Optional(CertificateSchema.properties.default),
    tags: Type.Optional(CertificateSchema.properties.tags),
  },
  { additionalProperties: false, $id: 'CertificateWrite', description: 'A certificate chain and its private key (POST creates, PUT creates or replaces by name).' },
);
export type CertificateWriteDto = Static<typeof CertificateWriteSchema>;

export const CertificateViewSchema = Type.Object(
  {
    name: CertificateSchema.properties.name,
    cert: CertificateSchema.properties.cert,
    snis: Snis,
    default: CertificateSchema.properties.default,
    tags: CertificateSchema.properties.tags,
    subject: Type.String({ description: "The leaf's subject." }),
    issuer: Type.String({ description: "The leaf's issuer." }),
    not_before: Type.String({ description: 'Start of validity (RFC 3339).' }),
    not_after: Type.String({ description: 'End of validity (RFC 3339); renew before it.' }),
    fingerprint256: Type.String({ description: 'SHA-256 fingerprint of the leaf.' }),
  },
  { $id: 'CertificateView', description: 'A stored certificate as the admin API shows it: never with its private key.' },
);
export type CertificateView = Static<typeof CertificateViewSchema>;

export const CertificateListSchema = Type.Object({ data: Type.Array(CertificateViewSchema) }, { description: 'The TLS certificates.' });
