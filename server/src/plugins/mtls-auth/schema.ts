import { Type, type Static } from '@sinclair/typebox';
import { authCommonFields } from '../../auth/gate.js';

const HeaderName = (fallback: string, description: string) =>
  Type.String({ minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", default: fallback, description });

export const MtlsAuthSchema = Type.Object(
  {
    ca_certificates: Type.Array(Type.String({ minLength: 1, maxLength: 262_144, description: 'A PEM CA certificate (a bundle of several is accepted).' }), {
      minItems: 1,
      maxItems: 32,
      description:
        'CA certificates (PEM) this instance trusts for client certificates. The HTTPS listener advertises the union of every instance\'s CAs; a certificate chaining to another instance\'s CA is still refused here.',
    }),
    consumer_by: Type.Union([Type.Literal('subject_cn'), Type.Literal('san_dns'), Type.Literal('san_email'), Type.Literal('san_uri')], {
      default: 'subject_cn',
      description: "Which name of the verified certificate is looked up as a consumer's username: the subject CN, or the first DNS, e-mail or URI subjectAltName.",
    }),
    allow_anonymous: Type.Boolean({
      default: false,
      description: 'A verified certificate whose name matches no consumer is still let through (without a consumer). false: 401 GW_ERR_MTLS_NO_CONSUMER.',
    }),
    skip_consumer_lookup: Type.Boolean({ default: false, description: 'Only verify the certificate; never map it to a consumer (no consumer headers are sent).' }),
    revocation: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 4_194_304, description: 'A PEM CRL signed by one of ca_certificates.' }), {
        maxItems: 32,
        description: 'Certificate revocation lists (PEM). A certificate whose serial is listed by the CRL of its issuer is refused (401 GW_ERR_MTLS_CERT_REVOKED).',
      }),
    ),
    certificate_headers: Type.Object(
      {
        subject: HeaderName('x-client-cert-subject', "Header carrying the verified certificate's subject (RFC 4514 order reversed as OpenSSL prints it, comma-separated)."),
        fingerprint: HeaderName('x-client-cert-fingerprint', "Header carrying the certificate's SHA-256 fingerprint, lower-case hex without colons."),
      },
      { default: {}, additionalProperties: false, description: 'Names of the certificate headers sent upstream. Client-sent copies are always removed.' },
    ),
    ...authCommonFields(),
  },
  { additionalProperties: false },
);
export type MtlsAuthConfig = Static<typeof MtlsAuthSchema>;
