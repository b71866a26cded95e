// TLS to backends: the tls.connect options an UpstreamTls asks for
// (ingress-nginx's proxy-ssl-*, Traefik's ServersTransport), and the key
// under which connections made with them may be pooled together: a
// connection verified under one route's settings is never reused for a
// route with other settings.

import { createHash } from 'node:crypto';
import tls, { type PeerCertificate } from 'node:tls';
import type { UpstreamTls } from './types.ts';

const keys = new WeakMap<UpstreamTls, string>();

/** '' for no TLS settings; else a digest of them (private key included, so two client identities never share a connection). */
export function upstreamTlsKey(t: UpstreamTls | undefined): string {
  if (t === undefined) return '';
  let k = keys.get(t);
  if (k === undefined) {
    k = createHash('sha256').update(JSON.stringify(t, (_name, v: unknown) => (Buffer.isBuffer(v) ? v.toString('latin1') : v))).digest('base64url');
    keys.set(t, k);
  }
  return k;
}

/** Certificates above `cert` in the chain the server sent, up to a self-signed one. */
function intermediatesAbove(cert: tls.DetailedPeerCertificate): number {
  let n = 0;
  for (let c = cert; c.issuerCertificate !== undefined && c.issuerCertificate !== c && n < 100; c = c.issuerCertificate) n++;
  // The last one is the trust anchor unless the chain ended without it.
  return Math.max(0, n - 1);
}

/** tls.connect options (without host and port) for a backend with settings `t`. */
export function upstreamTlsOptions(t: UpstreamTls | undefined, alpn: readonly string[]): tls.ConnectionOptions {
  const verify = t?.verify === true;
  const checkName = t?.checkName;
  const depth = t?.verifyDepth;
  return {
    ...(t?.servername !== undefined ? { servername: t.servername } : {}),
    rejectUnauthorized: verify,
    ...(t?.ca !== undefined ? { ca: t.ca } : {}),
    ...(t?.cert !== undefined && t.key !== undefined ? { cert: t.cert, key: t.key } : {}),
    ...(t?.minVersion !== undefined ? { minVersion: t.minVersion } : {}),
    ...(t?.maxVersion !== undefined ? { maxVersion: t.maxVersion } : {}),
    ...(t?.ciphers !== undefined ? { ciphers: t.ciphers } : {}),
    ...(verify && (checkName !== undefined || depth !== undefined)
      ? {
          checkServerIdentity: (host: string, cert: PeerCertificate): Error | undefined => {
            const named = tls.checkServerIdentity(checkName ?? host, cert);
            if (named !== undefined) return named;
            if (depth !== undefined && intermediatesAbove(cert as tls.DetailedPeerCertificate) > depth) return new Error(`certificate chain too long (more than ${depth} intermediates)`);
            return undefined;
          },
        }
      : {}),
    ALPNProtocols: [...alpn],
  };
}
