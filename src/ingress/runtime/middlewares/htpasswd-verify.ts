// Password checks for htpasswd entries, as Traefik's basicAuth accepts them:
// `{SHA}` + base64(SHA-1), MD5-crypt (`$apr1$` Apache, `$1$` crypt(3)),
// bcrypt (`$2a$`/`$2b$`/`$2y$`: bcryptjs on a worker thread, bcrypt-pool.ts,
// since one check costs tens of milliseconds of CPU and must not stall the
// event loop), and plain text (htpasswd -p). Compares in constant time.

import { createHash, timingSafeEqual } from 'node:crypto';
import { bcryptMatches } from './bcrypt-pool.ts';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function to64(v: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    s += ITOA64[v & 0x3f];
    v >>>= 6;
  }
  return s;
}

/** MD5-crypt (Poul-Henning Kamp's algorithm) with magic `$1$` or `$apr1$`. */
export function md5Crypt(password: string, salt: string, magic: '$1$' | '$apr1$'): string {
  const pw = Buffer.from(password, 'utf8');
  const sl = Buffer.from(salt.slice(0, 8), 'utf8');
  const alt = createHash('md5').update(pw).update(sl).update(pw).digest();
  const ctx = createHash('md5').update(pw).update(magic).update(sl);
  for (let len = pw.length; len > 0; len -= 16) ctx.update(alt.subarray(0, Math.min(16, len)));
  for (let i = pw.length; i > 0; i >>= 1) ctx.update(i & 1 ? Buffer.alloc(1) : pw.subarray(0, 1));
  let final = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const h = createHash('md5');
    h.update(i & 1 ? pw : final);
    if (i % 3) h.update(sl);
    if (i % 7) h.update(pw);
    h.update(i & 1 ? final : pw);
    final = h.digest();
  }
  const f = final;
  const out =
    to64((f[0]! << 16) | (f[6]! << 8) | f[12]!, 4) +
    to64((f[1]! << 16) | (f[7]! << 8) | f[13]!, 4) +
    to64((f[2]! << 16) | (f[8]! << 8) | f[14]!, 4) +
    to64((f[3]! << 16) | (f[9]! << 8) | f[15]!, 4) +
    to64((f[4]! << 16) | (f[10]! << 8) | f[5]!, 4) +
    to64(f[11]!, 2);
  return `${magic}${salt.slice(0, 8)}$${out}`;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

export type HashKind = 'sha1' | 'apr1' | 'md5crypt' | 'bcrypt' | 'plain';

function hashKind(hash: string): HashKind {
  if (hash.startsWith('{SHA}')) return 'sha1';
  if (hash.startsWith('$apr1$')) return 'apr1';
  if (hash.startsWith('$1$')) return 'md5crypt';
  if (/^\$2[abxy]\$/.test(hash)) return 'bcrypt';
  return 'plain';
}

/** Sync for the fast hashes; a Promise for bcrypt. */
export function verifyPassword(password: string, hash: string): boolean | Promise<boolean> {
  switch (hashKind(hash)) {
    case 'sha1':
      return same(`{SHA}${createHash('sha1').update(password, 'utf8').digest('base64')}`, hash);
    case 'apr1':
    case 'md5crypt': {
      const magic = hash.startsWith('$apr1$') ? '$apr1$' : '$1$';
      const salt = hash.slice(magic.length, hash.indexOf('$', magic.length));
      return same(md5Crypt(password, salt, magic), hash);
    }
    case 'bcrypt':
      return bcryptMatches(password, hash);
    case 'plain':
      return same(password, hash);
  }
}
