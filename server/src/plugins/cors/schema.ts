/**
 * Config of cors (Kong's plugin of the same name; origin patterns marked with `~` like route paths).
 */
import { Type, type Static } from '@sinclair/typebox';

const Token = Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", maxLength: 256 });

export const CorsSchema = Type.Object(
  {
    origins: Type.Array(Type.String({ minLength: 1, maxLength: 2048 }), {
      default: ['*'],
      maxItems: 1000,
      description:
        'Allowed origins: exact values (`https://app.example.com`), `*` for any, or a regular expression marked with a leading `~` (`~^https://[a-z0-9-]+\\.example\\.com$`; anchor it). With `credentials`, a `null` origin is only allowed when `null` is listed (never through `*`).',
    }),
    methods: Type.Array(Token, {
      default: ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE', 'OPTIONS'],
      maxItems: 64,
      description: 'Methods a preflight allows (Access-Control-Allow-Methods).',
    }),
    headers: Type.Optional(
      Type.Array(Token, {
        maxItems: 256,
        default: undefined,
        description: 'Request headers a preflight allows (Access-Control-Allow-Headers). Unset: the headers the preflight asks for (Access-Control-Request-Headers) are reflected.',
      }),
    ),
    exposed_headers: Type.Array(Token, {
      default: [],
      maxItems: 256,
      description: 'Response headers the browser lets the page read beyond the safelisted ones (Access-Control-Expose-Headers).',
    }),
    credentials: Type.Boolean({
      default: false,
      description: 'Allow cookies and HTTP auth (Access-Control-Allow-Credentials: true). The origin is then always reflected, never `*`, even when `origins` has `*`.',
    }),
    max_age: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 86400, default: undefined, description: 'Seconds a browser may cache a preflight answer (Access-Control-Max-Age). Unset: the browser default (5 s).' }),
    ),
    preflight_continue: Type.Boolean({
      default: false,
      description: 'Send OPTIONS preflights to the upstream instead of answering them at the gateway with 204 (the answer then gets only the origin headers).',
    }),
    private_network: Type.Boolean({
      default: false,
      description: 'Answer Private Network Access preflights (Access-Control-Request-Private-Network: true) with Access-Control-Allow-Private-Network: true.',
    }),
  },
  { additionalProperties: false, description: 'Answers CORS preflights and adds CORS headers to responses for allowed origins.' },
);
export type CorsConfig = Static<typeof CorsSchema>;
