// htdigest text -> users (`user:realm:HA1`, HA1 the hex MD5 of
// user:realm:password), for ingress-nginx's auth-type: digest and Traefik's
// digestAuth. Pure. Blank lines and `#` comments are skipped.

import type { DigestUser } from '../model/middleware-spec.ts';

export function parseHtdigest(text: string): { ok: true; users: DigestUser[] } | { ok: false; error: string } {
  const users: DigestUser[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const parts = line.split(':');
    if (parts.length !== 3 || parts[0] === '' || !/^[0-9a-fA-F]{32}$/.test(parts[2]!)) {
      return { ok: false, error: `htdigest line for ${JSON.stringify(parts[0] ?? '')} is not user:realm:md5-hex` };
    }
    users.push({ name: parts[0]!, realm: parts[1]!, ha1: parts[2]!.toLowerCase() });
  }
  return { ok: true, users };
}
