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
    ['/a//b', '/a/b'],
    ['//admin', '/admin'],
    ['/a///b//', '/a/b/'],
    ['/public//../admin', '/admin'],
    ['/a/%2e%2e//b', '/b'],
    ['/a;b', '/a;b'],
    ['/a\\b', '/a\\b'],
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

describe('normalizePath, strict', () => {
  const cases: [string, string | null][] = [
    ['/admin', '/admin'],
    ['//admin', '/admin'],
    ['/public/../admin', '/admin'],
    ['/%61dmin', '/admin'],
    ['/a%20b', '/a%20b'],
    ['/admin;x=1', null],
    ['/public/..;/admin', null],
    ['/public\\..\\admin', null],
    ['/admin%2Fx', null],
    ['/admin%2fx', null],
    ['/public%2F..%2Fadmin', null],
    ['/admin%5Cx', null],
    ['/admin%3Bx', null],
  ];
  it.each(cases)('%j → %j', (input, expected) => {
    expect(normalizePath(input, true)).toBe(expected);
  });

  it('the target parser passes strictness on; the query may hold anything', () => {
    expect(parseRequestTarget('GET', '/a%2Fb?x=%2F;y', true)).toBeNull();
    expect(parseRequestTarget('GET', '/a/b?x=%2F;y\\', true)).toEqual({ path: '/a/b', query: 'x=%2F;y\\', authority: undefined });
    expect(parseRequestTarget('GET', '/a%2Fb', false)?.path).toBe('/a%2Fb');
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
