import { describe, expect, it } from 'vitest';
import { normalizePath, parseRequestTarget } from './normalize-path.js';

describe('normalizePath', () => {
  const cases: [string, string | null][] = [
    ['/', '/'],
    ['/a/b', '/a/b'],
    ['/a/./b', '/a/b'],
    ['/a/../b', '/b'],
    ['/a/b/..', '/a/'],
    ['/a/b/.', '/a/b/'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['/a/%2e%2e/b', '/b'],
    ['/a/%2E./b', '/b'],
    ['/%61%62c', '/abc'],
    ['/a%2Fb', '/a%2Fb'],
    ['/a%2fb', '/a%2Fb'],
    ['/a%20b', '/a%20b'],
    ['/%7E', '/~'],
    ['/a//b', '/a//b'],
    ['/a/.hidden', '/a/.hidden'],
    ['/a/..b', '/a/..b'],
    ['/a%00', null],
    ['/a\u0000b', null],
    ['/a%zz', null],
    ['/a%4', null],
    ['a/b', null],
    ['', null],
  ];
  it.each(cases)('%j → %j', (input, expected) => {
    expect(normalizePath(input)).toBe(expected);
  });
});

describe('parseRequestTarget', () => {
  const cases: [string, string, { path: string; query: string; authority: string | undefined } | null][] = [
    ['GET', '/a?x=1', { path: '/a', query: 'x=1', authority: undefined }],
    ['GET', '/a/../b?', { path: '/b', query: '', authority: undefined }],
    ['GET', 'http://Example.com/x?y', { path: '/x', query: 'y', authority: 'Example.com' }],
    ['GET', 'http://example.com', { path: '/', query: '', authority: 'example.com' }],
    ['GET', 'https://example.com:8443?q=1', { path: '/', query: 'q=1', authority: 'example.com:8443' }],
    ['OPTIONS', '*', { path: '*', query: '', authority: undefined }],
    ['GET', '*', null],
    ['GET', 'ftp://example.com/', null],
    ['GET', 'http://user@example.com/', null],
    ['GET', 'relative', null],
    ['GET', '/a%00', null],
  ];
  it.each(cases)('%s %j', (method, target, expected) => {
    expect(parseRequestTarget(method, target)).toEqual(expected);
  });
});
