/**
 * bot-detection: refuses requests by User-Agent in the access phase. Each list is compiled once per
 * snapshot into a single case-insensitive alternation, so a request costs at most two regex tests.
 *
 * Order of decision (Kong's): `allow` matches → pass; `deny` or the built-in list matches → 403.
 * The built-in list names tools whose only use against someone else's API is attacking it; search engine
 * crawlers and HTTP libraries (curl, python-requests) are deliberately absent: blocking them breaks
 * legitimate clients and any attacker changes the User-Agent anyway. This is a cheap noise filter, not a defence.
 */
import { respondProblem } from '../../auth/gate.js';
import { definePlugin, type PluginHandler, type RequestContext } from '../types.js';
import { BotDetectionSchema, type BotDetectionConfig } from './schema.js';

/** Attack tools and scanners that announce themselves; each a regex source. */
export const BUILTIN_BAD_BOTS: readonly string[] = [
  'sqlmap',
  'nikto',
  'nmap scripting engine',
  'masscan',
  'zgrab',
  'nuclei',
  'wpscan',
  'dirbuster',
  'gobuster',
  'feroxbuster',
  'fuzz faster u fool',
  'acunetix',
  'netsparker',
  'havij',
  'w3af',
  'jorgee',
];

/** One regex matching any of `sources`, or undefined for an empty list. Throws on an invalid pattern. */
export function compileAny(sources: readonly string[]): RegExp | undefined {
  if (sources.length === 0) return undefined;
  for (const s of sources) {
    try {
      new RegExp(s, 'i');
    } catch (err) {
      throw new Error(`invalid User-Agent pattern '${s}': ${(err as Error).message}`, { cause: err });
    }
  }
  return new RegExp(sources.map((s) => `(?:${s})`).join('|'), 'i');
}

export class BotDetection implements PluginHandler {
  constructor(
    private readonly allow: RegExp | undefined,
    private readonly deny: RegExp | undefined,
    private readonly denyEmpty: boolean,
  ) {}

  access(ctx: RequestContext): void {
    const ua = ctx.req.headers['user-agent'];
    if (ua === undefined || ua === '') {
      if (this.denyEmpty) respondProblem(ctx, 'GW_ERR_BOT_FORBIDDEN', 'a User-Agent is required');
      return;
    }
    if (this.allow !== undefined && this.allow.test(ua)) return;
    if (this.deny !== undefined && this.deny.test(ua)) respondProblem(ctx, 'GW_ERR_BOT_FORBIDDEN', 'this User-Agent is not allowed');
  }
}

export default definePlugin({
  name: 'bot-detection',
  description: 'Refuses requests by User-Agent: allow and deny patterns plus a built-in list of attack tools.',
  schema: BotDetectionSchema,
  scopes: ['global', 'service', 'route', 'consumer'],
  create: function createBotDetection(config: BotDetectionConfig): PluginHandler {
    const deny = config.builtin ? [...BUILTIN_BAD_BOTS, ...config.deny] : config.deny;
    return new BotDetection(compileAny(config.allow), compileAny(deny), config.empty_user_agent === 'deny');
  },
});
