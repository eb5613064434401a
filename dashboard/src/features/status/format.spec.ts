/**
 * Tests of the status page's display formatting.
 */
import { describe, expect, it } from 'vitest';
import { formatUptime, serviceTarget } from './format';

describe('formatUptime', () => {
  it.each([
    [0, '0s'],
    [42, '42s'],
    [725, '12m 5s'],
    [4 * 3600, '4h 0m'],
    [93_784, '1d 2h 3m'],
    [-5, '0s'],
  ])('%d s → %s', (seconds, text) => expect(formatUptime(seconds)).toBe(text));
});

describe('serviceTarget', () => {
  it('prefers the url, else assembles the parts', () => {
    expect(serviceTarget({ name: 'a', url: 'http://x:1/p', enabled: true, tags: [] })).toBe('http://x:1/p');
    expect(serviceTarget({ name: 'a', host: 'x', enabled: true, tags: [] })).toBe('http://x');
    expect(serviceTarget({ name: 'a', protocol: 'https', host: 'x', port: 8443, path: '/v1', enabled: true, tags: [] })).toBe('https://x:8443/v1');
  });
});
