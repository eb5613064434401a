/**
 * Config of bot-detection (Kong's plugin of the same name): User-Agent rules.
 */
import { Type, type Static } from '@sinclair/typebox';

const Rule = Type.String({ minLength: 1, maxLength: 512, description: 'A JavaScript regular expression matched against the User-Agent, case-insensitively.' });

export const BotDetectionSchema = Type.Object(
  {
    allow: Type.Array(Rule, {
      default: [],
      maxItems: 1000,
      description: 'User-Agent patterns always let through, even when `deny` or the built-in list matches them.',
    }),
    deny: Type.Array(Rule, { default: [], maxItems: 1000, description: 'User-Agent patterns refused with 403 (GW_ERR_BOT_FORBIDDEN).' }),
    builtin: Type.Boolean({
      default: true,
      description: 'Also refuse the built-in list of attack tools and vulnerability scanners (sqlmap, nikto, nmap, masscan, zgrab, nuclei, wpscan…; see BUILTIN_BAD_BOTS).',
    }),
    empty_user_agent: Type.Union([Type.Literal('allow'), Type.Literal('deny')], {
      default: 'allow',
      description: 'What to do with a request without a User-Agent (or an empty one): `allow` it or `deny` it with 403.',
    }),
  },
  { additionalProperties: false, description: 'Refuses requests by User-Agent: configured patterns plus a short built-in list of attack tools.' },
);
export type BotDetectionConfig = Static<typeof BotDetectionSchema>;
