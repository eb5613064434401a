import { describe, expect, it } from 'vitest';
import { hasPoolSize, poolSizeAdvice, V8_POOL_FLAG, workerExecArgv } from './node-flags.js';

describe('node flags: the V8 pool size', () => {
  it('finds a pool size on the command line or in NODE_OPTIONS, in either spelling', () => {
    expect(hasPoolSize(['--v8-pool-size=2'], undefined)).toBe(true);
    expect(hasPoolSize(['--v8-pool-size', '2'], undefined)).toBe(true);
    expect(hasPoolSize([], '--max-old-space-size=512 --v8-pool-size=1')).toBe(true);
    expect(hasPoolSize(['--inspect'], '--max-old-space-size=512')).toBe(false);
    expect(hasPoolSize([], undefined)).toBe(false);
  });

  it("gives forked workers the primary's flags plus the pool size, unless one is set", () => {
    expect(workerExecArgv(['--enable-source-maps'], undefined)).toEqual(['--enable-source-maps', V8_POOL_FLAG]);
    expect(workerExecArgv(['--v8-pool-size=3'], undefined)).toEqual(['--v8-pool-size=3']);
    expect(workerExecArgv([], '--v8-pool-size=3')).toEqual([]);
  });

  it('advises the flag only when the default pool outnumbers the CPUs', () => {
    expect(poolSizeAdvice([], undefined, 1)).toContain('4 background threads on 1 CPU');
    expect(poolSizeAdvice([], undefined, 2)).toContain(V8_POOL_FLAG);
    expect(poolSizeAdvice([], undefined, 8)).toBeUndefined();
    expect(poolSizeAdvice([V8_POOL_FLAG], undefined, 1)).toBeUndefined();
  });
});
