// Host names: the canonical form of a request's Host, and Kubernetes
// Ingress host patterns (exact `foo.bar.com`, wildcard `*.foo.com` matching
// exactly one label, or none for "any host").

export type IngressHost =
  | { readonly kind: 'any' }
  | { readonly kind: 'exact'; readonly host: string }
  /** `*.foo.com` is held as suffix `foo.com`. */
  | { readonly kind: 'wildcard'; readonly suffix: string };

export type IngressHostResult = { readonly ok: true; readonly host: IngressHost } | { readonly ok: false; readonly error: string };

const ANY: IngressHost = Object.freeze({ kind: 'any' });

/**
 * A request's Host (or :authority) in canonical form: lowercase, port
 * removed, IPv6 brackets removed, one trailing dot removed. Returns `raw`
 * itself when it is already canonical, so the common case allocates nothing.
 * A bare IPv6 address (several colons, no brackets) is left whole, as Go
 * does.
 */
export function normalizeRequestHost(raw: string): string {
  // Common case (no port, brackets or trailing dot): V8's native lowercasing
  // returns the very same string when nothing changes.
  if (raw.indexOf(':') < 0 && raw.charCodeAt(0) !== 91 && raw.charCodeAt(raw.length - 1) !== 46) return raw.toLowerCase();
  let start = 0;
  let end = raw.length;
  if (raw.charCodeAt(0) === 91 /* [ */) {
    const close = raw.indexOf(']');
    if (close > 0) {
      start = 1;
      end = close;
    }
  } else {
    const colon = raw.indexOf(':');
    if (colon >= 0 && raw.indexOf(':', colon + 1) < 0) end = colon;
  }
  if (end > start && raw.charCodeAt(end - 1) === 46 /* . */) end--;
  let upper = false;
  for (let i = start; i < end; i++) {
    const c = raw.charCodeAt(i);
    if ((c >= 65 && c <= 90) || c > 127) {
      upper = true;
      break;
    }
  }
  if (start === 0 && end === raw.length && !upper) return raw;
  const s = raw.slice(start, end);
  return upper ? s.toLowerCase() : s;
}

/**
 * A host written in a rule (Traefik `Host`): lowercase, brackets and one
 * trailing dot removed. Unlike a request's Host a port is kept, so
 * `Host(\`a:8080\`)` never matches, as in Traefik.
 */
export function normalizeHostName(name: string): string {
  let s = name.toLowerCase();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (s.endsWith('.')) s = s.slice(0, -1);
  return s;
}

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const IPV4_LIKE = /^[0-9]+(\.[0-9]+){3}$/;

function checkDnsName(name: string, shown: string): string | null {
  if (name.length > 253) return `invalid host ${JSON.stringify(shown)}: longer than 253 characters`;
  if (name.includes(':')) {
    return `invalid host ${JSON.stringify(shown)}: ${name.includes('::') || /:.*:/.test(name) ? 'must be a DNS name, not an IP address' : 'must not contain a port'}`;
  }
  if (IPV4_LIKE.test(name)) return `invalid host ${JSON.stringify(shown)}: must be a DNS name, not an IP address`;
  for (const label of name.split('.')) {
    if (label === '*') return `invalid host ${JSON.stringify(shown)}: "*" is only allowed as the whole first label`;
    if (label.length > 63) return `invalid host ${JSON.stringify(shown)}: label longer than 63 characters`;
    if (!LABEL.test(label)) {
      return `invalid host ${JSON.stringify(shown)}: labels must be 1-63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit`;
    }
  }
  return null;
}

/**
 * An Ingress rule's `host` (RFC 1123 name or `*.` + name). Empty or absent
 * means any host. Upper case is accepted and lowercased (the API server
 * would have rejected it; being lenient here costs nothing).
 */
export function parseIngressHost(host: string | undefined | null): IngressHostResult {
  if (host === undefined || host === null || host === '') return { ok: true, host: ANY };
  const name = host.toLowerCase();
  if (name.startsWith('*.')) {
    const suffix = name.slice(2);
    const error = checkDnsName(suffix, host);
    if (error) return { ok: false, error };
    return { ok: true, host: Object.freeze({ kind: 'wildcard', suffix }) };
  }
  if (name.includes('*')) return { ok: false, error: `invalid host ${JSON.stringify(host)}: a wildcard must be "*." followed by a DNS name` };
  const error = checkDnsName(name, host);
  if (error) return { ok: false, error };
  return { ok: true, host: Object.freeze({ kind: 'exact', host: name }) };
}

/** Whether a canonical request host (see normalizeRequestHost) matches. */
export function ingressHostMatches(pattern: IngressHost, host: string): boolean {
  switch (pattern.kind) {
    case 'any':
      return true;
    case 'exact':
      return host === pattern.host;
    case 'wildcard': {
      // Exactly one non-empty label in front of the suffix.
      const dot = host.indexOf('.');
      return dot > 0 && host.length - dot - 1 === pattern.suffix.length && host.startsWith(pattern.suffix, dot + 1);
    }
  }
}
