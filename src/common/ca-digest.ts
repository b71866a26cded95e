// A short name for a CA bundle (PEM text), so that the request-time check of
// a client certificate can tell which bundle the TLS handshake verified it
// against: a connection opened for one host and a request for another host
// with another CA must not pass on the first host's verification. Pure.

import { createHash } from 'node:crypto';

export function caDigest(pem: string): string {
  return createHash('sha256').update(pem).digest('base64url').slice(0, 22);
}
