// HTTP Digest authentication (RFC 7616 with MD5, as htdigest files hold it;
// qop "auth", and RFC 2069's form without qop): ingress-nginx's
// auth-type: digest and Traefik's digestAuth.
// - The challenge: `Digest realm="<realm>", qop="auth", nonce="...",
//   opaque="...", algorithm=MD5`; a nonce is a timestamp and its HMAC under a
//   key of this process, valid NONCE_TTL_MS (then `stale=true`, so browsers
//   retry without asking again).
// - A response is accepted when the user is known in this realm, the `uri`
//   names this request's target, the nonce is one of ours and fresh, and the
//   nonce count grows (a replayed Authorization field is refused).
// Failures answer 401 with a new challenge. Comparisons in constant time.

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Middleware, RequestContext, SimpleResponse } from '../../../proxy/http/types.ts';
import type { DigestAuthSpec } from '../../model/middleware-spec.ts';

const NONCE_TTL_MS = 5 * 60_000;
/** Nonces whose last count is remembered (replay check); beyond, the oldest are forgotten. */
const MAX_NONCES = 10_000;

const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

/** The parameters of a `Digest` credentials field (RFC 7616 section 3.4), or undefined when it is not one. */
function parseDigestCredentials(field: string): Map<string, string> | undefined {
  if (!/^digest\s/i.test(field)) return undefined;
  const out = new Map<string, string>();
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))\s*(?:,|$)/gy;
  re.lastIndex = field.indexOf(' ') + 1;
  while (re.lastIndex < field.length) {
    const m = re.exec(field);
    if (m === null) return undefined;
    out.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!);
  }
  return out;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function digestAuth(name: string, spec: DigestAuthSpec, now: () => number = Date.now): Middleware {
  const key = randomBytes(32);
  const opaque = randomBytes(16).toString('hex');
  const users = new Map(spec.users.filter((u) => u.realm === spec.realm).map((u) => [u.name, u.ha1]));
  const counts = new Map<string, number>();
  const realm = spec.realm.replace(/["\\]/g, '');
  const nonceAt = (t: number): string => {
    const stamp = t.toString(16);
    return `${stamp}.${createHmac('sha256', key).update(stamp).digest('base64url')}`;
  };
  const challenge = (stale: boolean): SimpleResponse => ({
    status: 401,
    headers: [['www-authenticate', `Digest realm="${realm}", qop="auth", nonce="${nonceAt(now())}", opaque="${opaque}", algorithm=MD5${stale ? ', stale=true' : ''}`]],
    body: '401 Unauthorized\n',
  });
  /** 'ok', 'stale' (ours but expired), or 'bad'. */
  const nonceState = (nonce: string): 'ok' | 'stale' | 'bad' => {
    const dot = nonce.indexOf('.');
    if (dot <= 0) return 'bad';
    const stamp = nonce.slice(0, dot);
    if (!same(nonce, nonceAt(Number.parseInt(stamp, 16))) || !/^[0-9a-f]+$/.test(stamp)) return 'bad';
    return now() - Number.parseInt(stamp, 16) > NONCE_TTL_MS ? 'stale' : 'ok';
  };
  return {
    name,
    onRequest(ctx: RequestContext): SimpleResponse | undefined {
      const field = ctx.header('authorization');
      const p = field === undefined ? undefined : parseDigestCredentials(field);
      if (p === undefined) return challenge(false);
      const user = p.get('username') ?? '';
      const ha1 = users.get(user);
      const nonce = p.get('nonce') ?? '';
      const uri = p.get('uri') ?? '';
      const given = (p.get('response') ?? '').toLowerCase();
      const algorithm = (p.get('algorithm') ?? 'MD5').toUpperCase();
      if (ha1 === undefined || p.get('realm') !== spec.realm || algorithm !== 'MD5' || uri !== ctx.upstreamTarget) return challenge(false);
      const state = nonceState(nonce);
      if (state === 'bad') return challenge(false);
      const ha2 = md5(`${ctx.method}:${uri}`);
      const qop = p.get('qop');
      let expected: string;
      let nc = 0;
      if (qop === undefined) expected = md5(`${ha1}:${nonce}:${ha2}`);
      else if (qop === 'auth') {
        const ncText = p.get('nc') ?? '';
        if (!/^[0-9a-fA-F]{8}$/.test(ncText)) return challenge(false);
        nc = Number.parseInt(ncText, 16);
        expected = md5(`${ha1}:${nonce}:${ncText}:${p.get('cnonce') ?? ''}:auth:${ha2}`);
      } else return challenge(false);
      if (!same(expected, given)) return challenge(false);
      if (state === 'stale') return challenge(true);
      // A nonce count that does not grow is a replay (qop=auth); without qop there is none to check.
      if (qop !== undefined) {
        const last = counts.get(nonce) ?? 0;
        if (nc <= last) return challenge(false);
        if (!counts.has(nonce) && counts.size >= MAX_NONCES) counts.delete(counts.keys().next().value!);
        counts.set(nonce, nc);
      }
      if (spec.removeHeader) ctx.removeHeader('authorization');
      if (spec.headerField) ctx.setHeader(spec.headerField, user);
      return undefined;
    },
  };
}
