/**
 * Config of redirect (Kong's plugin of the same name, plus nginx-style variables in `location`).
 */
import { Type, type Static } from '@sinclair/typebox';

export const RedirectSchema = Type.Object(
  {
    location: Type.String({
      minLength: 1,
      maxLength: 4096,
      pattern: '^[^\\r\\n\\u0000]*$',
      description:
        'Target URL or path. May use `$(path)` (normalised request path), `$(query)` (raw query, without `?`), `$(host)` (request host, lower case; it comes from the client, so only use it on routes bound to hosts) and `$(params.NAME)` (a named capture of the route\'s regex path). `$$` is a literal `$`.',
    }),
    status_code: Type.Union([Type.Literal(301), Type.Literal(302), Type.Literal(303), Type.Literal(307), Type.Literal(308)], {
      default: 301,
      description: 'Redirect status: 301/308 permanent, 302/303/307 temporary; 307/308 keep the method and body.',
    }),
    keep_incoming_path: Type.Boolean({
      default: false,
      description: 'Replace the path of `location` with the request\'s path (scheme and host of `location` kept), e.g. to move a whole API to another host.',
    }),
    keep_query: Type.Boolean({
      default: true,
      description: 'Append the request\'s query string to the location (after any query `location` has; ignored when `location` uses `$(query)`).',
    }),
  },
  { additionalProperties: false, description: 'Answers every request with a redirect, without calling the upstream.' },
);
export type RedirectConfig = Static<typeof RedirectSchema>;
