/**
 * `@nestjs/throttler` storage on the node's shared Redis, so the admin login limit holds across nodes
 * (an attacker cannot multiply attempts by the number of nodes). One atomic script per hit, time-to-live
 * from Redis. When Redis fails, the built-in in-memory storage answers instead: login stays protected
 * per node rather than unprotected or unavailable.
 */
import { ThrottlerStorageService, type ThrottlerStorage } from '@nestjs/throttler';
import type { RedisConnection } from './redis-client.js';

interface ThrottlerRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/** KEYS: hits, block.  ARGV: ttl ms, limit, block ms.  Returns {hits, hits pttl, blocked, block pttl}. */
const THROTTLE_SCRIPT = `
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then
  return { tonumber(redis.call('GET', KEYS[1]) or '0'), math.max(redis.call('PTTL', KEYS[1]), 0), 1, blocked }
end
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if hits > tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  return { hits, ttl, 1, tonumber(ARGV[3]) }
end
return { hits, ttl, 0, 0 }
`;

interface ThrottleCommand {
  ghThrottle(hitsKey: string, blockKey: string, ttl: number, limit: number, block: number): Promise<number[]>;
}

export class RedisThrottlerStorage implements ThrottlerStorage {
  private readonly fallback = new ThrottlerStorageService();
  private readonly cmd: ThrottleCommand;

  constructor(
    private readonly client: RedisConnection,
    private readonly timeoutMs = 200,
  ) {
    client.defineCommand('ghThrottle', { lua: THROTTLE_SCRIPT, numberOfKeys: 2 });
    this.cmd = client as unknown as ThrottleCommand;
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerRecord> {
    if (this.client.status !== 'ready') return this.fallback.increment(key, ttl, limit, blockDuration, throttlerName);
    const tag = `gh:throttle:{${throttlerName}:${key}}`;
    let timer: NodeJS.Timeout | undefined;
    try {
      const r = await Promise.race([
        this.cmd.ghThrottle(`${tag}:hits`, `${tag}:block`, ttl, limit, blockDuration > 0 ? blockDuration : ttl),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('redis timeout')), this.timeoutMs))),
      ]);
      // Nest's throttler works in seconds for the time fields.
      return { totalHits: r[0]!, timeToExpire: Math.ceil(r[1]! / 1000), isBlocked: r[2] === 1, timeToBlockExpire: Math.ceil(r[3]! / 1000) };
    } catch {
      return this.fallback.increment(key, ttl, limit, blockDuration, throttlerName);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.fallback.onApplicationShutdown();
  }
}
