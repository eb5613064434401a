/**
 * Config of https-redirect: send plain-HTTP clients to the HTTPS listener, and tell browsers to stay
 * there (HSTS, RFC 6797).
 */
import { Type, type Static } from '@sinclair/typebox';

export const HttpsRedirectSchema = Type.Object(
  {
    redirect: Type.Boolean({ default: true, description: 'Answer plain-HTTP requests with a redirect to the same URL over HTTPS. `false`: only add the HSTS header.' }),
    status_code: Type.Union([Type.Literal(301), Type.Literal(302), Type.Literal(307), Type.Literal(308), Type.Literal(426)], {
      default: 308,
      description: 'Redirect status: 308 (default) and 307 keep the method and body, 301/302 let clients switch to GET; 426 refuses with Upgrade Required and no Location.',
    }),
    https_port: Type.Integer({ minimum: 1, maximum: 65535, default: 443, description: 'Port of the HTTPS URL; 443 is left out of the Location.' }),
    hsts: Type.Optional(
      Type.Object(
        {
          max_age: Type.Integer({ minimum: 0, maximum: 63_072_000, default: 31_536_000, description: 'Seconds browsers keep to HTTPS for this host (`max-age`); 0 removes the policy.' }),
          include_subdomains: Type.Boolean({ default: false, description: 'Add `includeSubDomains`: the policy covers every subdomain too.' }),
          preload: Type.Boolean({ default: false, description: 'Add `preload` (needs max_age ≥ 31536000 and include_subdomains for the browsers\' preload lists).' }),
        },
        { additionalProperties: false, description: 'Strict-Transport-Security on HTTPS answers (never on plain HTTP, where browsers ignore it). Absent: no header.' },
      ),
    ),
  },
  { additionalProperties: false, description: 'Redirects plain-HTTP requests to HTTPS and adds Strict-Transport-Security to HTTPS answers.' },
);
export type HttpsRedirectConfig = Static<typeof HttpsRedirectSchema>;
