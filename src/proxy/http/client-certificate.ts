// A TLS client's certificate as the request layer shows it (ClientCertificate):
// presented or not, verified against the CA the host asked with, the names
// nginx puts in $ssl_client_s_dn / $ssl_client_i_dn (RFC 2253: the
// certificate's RDNs, most specific first, comma-joined), and how many
// intermediates stand between it and the trust anchor (nginx's
// ssl_verify_depth limits them).
//
// It is read once per connection, at the handshake, and kept on the TLS
// socket (HTTP/2 requests reach their session's socket through a proxy
// that forwards property reads, so a symbol works where a WeakMap would not).
//
// The intermediates: Node 24.21's server side drops the client's chain
// after the handshake (getPeerCertificate(true) ends at the leaf,
// nodejs/node#65579), so the chain is walked through what can be seen:
// the issuers the runtime still reports, then the host's CA bundle. A leaf
// whose issuer is neither was completed by certificates the client sent
// and the runtime hid: the count is unknown (undefined), and a depth
// check fails closed on it.

import { X509Certificate } from 'node:crypto';
import type tls from 'node:tls';
import type { ClientCertificate } from './types.ts';

const PRESENTED = Symbol('metalgate.clientCertificate');
/** A chain longer than this is not walked (OpenSSL's default depth limit is 100; nginx's 1). */
const MAX_WALK = 16;

const NONE: ClientCertificate = { presented: false, verified: false, subjectDn: '', issuerDn: '', pem: '', intermediates: 0 };

// Node names a verification failure by OpenSSL's code; nginx's
// $ssl_client_verify says FAILED:<X509_verify_cert_error_string>. The texts
// of OpenSSL 3 for the failures a client certificate meets.
const OPENSSL_TEXT: Readonly<Record<string, string>> = {
  UNABLE_TO_GET_ISSUER_CERT: 'unable to get issuer certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get local issuer certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in certificate chain',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
  CERT_CHAIN_TOO_LONG: 'certificate chain too long',
  CERT_REVOKED: 'certificate revoked',
  INVALID_CA: 'invalid CA certificate',
  INVALID_PURPOSE: 'unsupported certificate purpose',
  CERT_UNTRUSTED: 'certificate not trusted',
  CERT_REJECTED: 'certificate rejected',
};

function rfc2253(name: string): string {
  return name.split('\n').reverse().join(',');
}

/** The certificates of a PEM bundle (a CA file), in order; what does not parse is skipped. */
export function certificatesOf(pem: string): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const m of pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)) {
    try {
      out.push(new X509Certificate(m[0]));
    } catch {
      // A broken entry verifies nothing; OpenSSL skips it too.
    }
  }
  return out;
}

const issues = (issuer: X509Certificate, cert: X509Certificate): boolean => cert.checkIssued(issuer) && cert.verify(issuer.publicKey);

/** Intermediates between `leaf` and a self-signed anchor; undefined when an issuer cannot be seen. */
function intermediatesOf(leaf: tls.DetailedPeerCertificate, bundle: readonly X509Certificate[]): number | undefined {
  let cert = new X509Certificate(leaf.raw);
  let sent: tls.DetailedPeerCertificate | undefined = leaf;
  for (let hops = 0; hops < MAX_WALK; hops++) {
    if (issues(cert, cert)) return Math.max(0, hops - 1);
    // OpenSSL looks in the trust store first (X509_V_FLAG_TRUSTED_FIRST), then among what the client sent.
    const next: tls.DetailedPeerCertificate | undefined = sent?.issuerCertificate !== undefined && sent.issuerCertificate !== sent ? sent.issuerCertificate : undefined;
    const issuer = bundle.find((c) => issues(c, cert)) ?? (next !== undefined ? new X509Certificate(next.raw) : undefined);
    if (issuer === undefined) return undefined;
    sent = next;
    cert = issuer;
  }
  return undefined;
}

/** Reads the client's certificate at the end of a handshake that asked for one, verified against `bundle`, and keeps it on the socket. */
export function rememberClientCertificate(socket: tls.TLSSocket, ca: { readonly certificates: readonly X509Certificate[]; readonly digest: string }): void {
  // An empty object when the client sent none.
  const peer = socket.getPeerCertificate(true) as Partial<tls.DetailedPeerCertificate> | null;
  let cert = NONE;
  if (peer !== null && peer.raw !== undefined) {
    const x509 = new X509Certificate(peer.raw);
    const error = socket.authorizationError;
    cert = {
      presented: true,
      verified: socket.authorized,
      ...(error ? { error: OPENSSL_TEXT[String(error)] ?? String(error) } : {}),
      subjectDn: rfc2253(x509.subject),
      issuerDn: rfc2253(x509.issuer),
      pem: x509.toString(),
      intermediates: socket.authorized ? intermediatesOf(peer as tls.DetailedPeerCertificate, ca.certificates) : undefined,
      caDigest: ca.digest,
    };
  }
  (socket as unknown as Record<symbol, ClientCertificate>)[PRESENTED] = cert;
}

/** The certificate a TLS connection presented: none when its handshake did not ask for one. */
export function clientCertificateOf(socket: tls.TLSSocket): ClientCertificate {
  return (socket as unknown as Record<symbol, ClientCertificate | undefined>)[PRESENTED] ?? NONE;
}
