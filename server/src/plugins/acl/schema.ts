import { Type, type Static } from '@sinclair/typebox';

const Group = Type.String({ minLength: 1, maxLength: 64 });
const Scope = Type.String({ minLength: 1, maxLength: 256, pattern: '^[\\x21\\x23-\\x5b\\x5d-\\x7e]+$' });

/**
 * Give `allow` or `deny` (not both); `required_scopes` can stand alone or come with either. The factory
 * refuses other combinations (the instance is then disabled with an error in /status).
 */
export const AclSchema = Type.Object(
  {
    allow: Type.Optional(
      Type.Array(Group, { minItems: 1, maxItems: 64, uniqueItems: true, description: 'Consumer groups allowed on this route: the consumer must be in at least one. Exclusive with deny.' }),
    ),
    deny: Type.Optional(
      Type.Array(Group, { minItems: 1, maxItems: 64, uniqueItems: true, description: 'Consumer groups refused on this route: a consumer in any of them gets 403. Exclusive with allow.' }),
    ),
    hide_groups_header: Type.Boolean({ default: false, description: "Do not send the consumer's groups header upstream." }),
    groups_header: Type.String({
      minLength: 1,
      maxLength: 128,
      default: 'x-consumer-groups',
      description: 'Name of the groups header hide_groups_header removes (the auth plugins\' identity_headers.consumer_groups).',
    }),
    required_scopes: Type.Array(Scope, {
      maxItems: 32,
      uniqueItems: true,
      default: [],
      description:
        'OAuth scopes the verified token (jwt or oauth2-introspection) must all carry, read from its `scope` claim (space-separated) or `scp` (array or space-separated). Missing: 403 GW_ERR_AUTH_SCOPE.',
    }),
  },
  { additionalProperties: false },
);
export type AclConfig = Static<typeof AclSchema>;
