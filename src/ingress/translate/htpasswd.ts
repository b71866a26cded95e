// htpasswd text -> users, for Traefik's basicAuth and ingress-nginx's
// auth-type: basic alike. Pure. Blank lines and `#` comments are skipped; a
// line that is not `user:hash` is an error naming it (without its hash).

import type { BasicAuthUser } from '../model/middleware-spec.ts';

export function parseHtpasswd(text: string): { ok: true; users: BasicAuthUser[] } | { ok: false; error: string } {
  const users: BasicAuthUser[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      const shown = line.length > 40 ? `${line.slice(0, 40)}...` : line.replace(/:.*/, ':...');
      return { ok: false, error: `htpasswd line ${JSON.stringify(shown)} is not user:hash` };
    }
    users.push({ name: line.slice(0, colon), hash: line.slice(colon + 1) });
  }
  return { ok: true, users };
}
