// basicAuth (Traefik): `Authorization: Basic` checked against htpasswd
// users; failure -> 401 with `WWW-Authenticate: Basic realm="<realm>"`.
// removeHeader drops Authorization before forwarding; headerField forwards
// the user name. Successful checks are remembered briefly (hashing MD5-crypt
// per request costs ~0.2 ms, bcrypt tens of milliseconds, off the event loop's
// critical path).

import { createHash } from 'node:crypto';
import type { Middleware, RequestContext, SimpleResponse } from '../../../proxy/http/types.ts';
import type { BasicAuthSpec } from '../../model/middleware-spec.ts';
import { verifyPassword } from './htpasswd-verify.ts';

const CACHE_MAX = 1024;

export function basicAuth(name: string, spec: BasicAuthSpec): Middleware {
  const users = new Map(spec.users.map((u) => [u.name, u.hash]));
  const unauthorized: SimpleResponse = {
    status: 401,
    headers: [['www-authenticate', `Basic realm="${spec.realm.replace(/["\\]/g, '')}"`]],
    body: '401 Unauthorized\n',
  };
  /** sha256(credentials) of recently accepted logins -> user. */
  const accepted = new Map<string, string>();
  const pass = (ctx: RequestContext, user: string): undefined => {
    if (spec.removeHeader) ctx.removeHeader('authorization');
    if (spec.headerField) ctx.setHeader(spec.headerField, user);
    return undefined;
  };
  return {
    name,
    onRequest(ctx: RequestContext): SimpleResponse | undefined | Promise<SimpleResponse | undefined> {
      const header = ctx.header('authorization');
      if (header === undefined || !/^basic /i.test(header)) return unauthorized;
      const encoded = header.slice(6).trim();
      const digest = createHash('sha256').update(encoded).digest('base64');
      const known = accepted.get(digest);
      if (known !== undefined) return pass(ctx, known);
      const decoded = Buffer.from(encoded, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return unauthorized;
      const user = decoded.slice(0, colon);
      const hash = users.get(user);
      if (hash === undefined) return unauthorized;
      const ok = verifyPassword(decoded.slice(colon + 1), hash);
      const settle = (good: boolean): SimpleResponse | undefined => {
        if (!good) return unauthorized;
        if (accepted.size >= CACHE_MAX) accepted.clear();
        accepted.set(digest, user);
        return pass(ctx, user);
      };
      return typeof ok === 'boolean' ? settle(ok) : ok.then(settle);
    },
  };
}
