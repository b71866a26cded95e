// Cookie header reading and Set-Cookie writing (RFC 6265), for sticky
// sessions and cookie canaries. No allocation when the cookie is absent.

import type { StickyCookie } from '../model/service-node.ts';
import { sameSiteNoneCompatible } from './same-site-none.ts';

/** The value of cookie `name` in a Cookie header (or several), or undefined. */
export function cookieValue(header: string | readonly string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  if (typeof header !== 'string') {
    for (const h of header) {
      const v = cookieValue(h, name);
      if (v !== undefined) return v;
    }
    return undefined;
  }
  let i = header.indexOf(name);
  while (i >= 0) {
    // Must be at the start of a pair and followed by "=".
    let j = i - 1;
    while (j >= 0 && header.charCodeAt(j) === 32) j--;
    const atStart = j < 0 || header.charCodeAt(j) === 59; /* ; */
    const eq = i + name.length;
    if (atStart && header.charCodeAt(eq) === 61 /* = */) {
      let end = header.indexOf(';', eq + 1);
      if (end < 0) end = header.length;
      let v = header.slice(eq + 1, end).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      return v;
    }
    i = header.indexOf(name, i + 1);
  }
  return undefined;
}

/** A Set-Cookie value for a sticky cookie, for a client sending `userAgent`. `now` for Expires. */
export function setCookie(c: StickyCookie, value: string, secureRequest: boolean, userAgent?: string, now: number = Date.now()): string {
  let s = `${c.name}=${value}; Path=${c.path ?? '/'}`;
  if (c.domain) s += `; Domain=${c.domain}`;
  if (c.expiresSeconds !== undefined) s += `; Expires=${new Date(now + c.expiresSeconds * 1000).toUTCString()}`;
  if (c.maxAgeSeconds !== undefined) s += `; Max-Age=${c.maxAgeSeconds}`;
  if (c.secure || (c.sameSite === 'None' && secureRequest)) s += '; Secure';
  if (c.httpOnly) s += '; HttpOnly';
  if (c.sameSite && !(c.sameSite === 'None' && c.conditionalSameSiteNone === true && !sameSiteNoneCompatible(userAgent))) s += `; SameSite=${c.sameSite}`;
  return s;
}
