/**
 * Why the data plane verifies with node:crypto and not jose's jwtVerify: per-verification cost of the
 * same tokens both ways (HS256, ES256, RS256), plus the cost of a verification-cache hit.
 * Run from the build: node server/dist/plugins/jwt/jws.bench.js
 */
import { generateKeyPairSync } from 'node:crypto';
import { importSPKI, jwtVerify, SignJWT } from 'jose';
import { parseToken, publicKeyFromPem, secretKey, verifySignature, type PinnedKey } from './jws.js';

async function bench(name: string, n: number, fn: () => unknown): Promise<void> {
  for (let i = 0; i < Math.min(2000, n); i++) await fn();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  const us = ((performance.now() - t0) * 1000) / n;
  console.log(`${name.padEnd(40)} ${us.toFixed(2).padStart(8)} µs/op ${Math.round(1e6 / us).toString().padStart(9)} ops/s`);
}

function ours(token: string, key: PinnedKey): void {
  const p = parseToken(token);
  if (!p.ok || !key.algorithms.has(p.token.alg) || !verifySignature(p.token, key)) throw new Error('verify failed');
}

const exp = Math.floor(Date.now() / 1000) + 3600;
const claims = { iss: 'bench', sub: 'user-1', aud: 'api', scope: 'read write', exp };
const secret = Buffer.from('bench-only-secret-0123456789abcdef');
const hsToken = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(secret);
const hsCrypto = await crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
const hsKey = secretKey(secret, ['HS256']);

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecPem = ec.publicKey.export({ type: 'spki', format: 'pem' }) as string;
const esToken = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).sign(ec.privateKey);
const esJose = await importSPKI(ecPem, 'ES256');
const esKey = publicKeyFromPem(ecPem, ['ES256']);

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
const rsToken = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).sign(rsa.privateKey);
const rsJose = await importSPKI(rsPem, 'RS256');
const rsKey = publicKeyFromPem(rsPem, ['RS256']);

const cache = new Map<string, { until: number }>([[hsToken, { until: Date.now() + 60_000 }]]);

console.log(`node ${process.version}`);
await bench('HS256 jose jwtVerify (raw secret)', 20_000, () => jwtVerify(hsToken, secret, { algorithms: ['HS256'] }));
await bench('HS256 jose jwtVerify (CryptoKey)', 20_000, () => jwtVerify(hsToken, hsCrypto, { algorithms: ['HS256'] }));
await bench('HS256 node:crypto (parse + verify)', 100_000, () => ours(hsToken, hsKey));
await bench('HS256 verification-cache hit (Map)', 1_000_000, () => cache.get(hsToken)!.until > Date.now());
await bench('ES256 jose jwtVerify', 5_000, () => jwtVerify(esToken, esJose, { algorithms: ['ES256'] }));
await bench('ES256 node:crypto (parse + verify)', 5_000, () => ours(esToken, esKey));
await bench('RS256 jose jwtVerify', 5_000, () => jwtVerify(rsToken, rsJose, { algorithms: ['RS256'] }));
await bench('RS256 node:crypto (parse + verify)', 5_000, () => ours(rsToken, rsKey));
