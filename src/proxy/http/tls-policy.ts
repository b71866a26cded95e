// What the TLS entrypoint offers, and what it refuses. Applied to the
// listening server and to every certificate's context alike: an SNI switch
// to a Secret's context must not change the offer.
//
// Defaults are ingress-nginx's: TLS 1.2 and 1.3; for TLS 1.2 only ECDHE key
// exchange (forward secrecy) with AES-GCM or ChaCha20-Poly1305 (no static
// RSA, no CBC: LUCKY13, no ARIA/CAMELLIA); TLS 1.3 suites as OpenSSL ships
// them (all AEAD). Session tickets and cached sessions live 300 s, nginx's
// ssl_session_timeout (Node's default is 7200 s). Renegotiation is refused
// at the protocol level (SSL_OP_NO_RENEGOTIATION: the client gets a
// no_renegotiation alert), as nginx does since 1.x: a client-initiated
// renegotiation costs the server a full handshake for nothing.

import { constants } from 'node:crypto';
import tls from 'node:tls';

export const DEFAULT_TLS_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');
/** TLS 1.3's suites, named so that setting `ciphers` does not turn TLS 1.3 off. */
const TLS13_SUITES = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256';
export const DEFAULT_TLS_PROTOCOLS = 'TLSv1.2 TLSv1.3';
export const DEFAULT_TLS_SESSION_TIMEOUT_S = 300;

export interface TlsPolicy {
  /** OpenSSL cipher list for TLS 1.2 (colon-separated, ingress-nginx's `ssl-ciphers` form). */
  readonly ciphers: string;
  readonly minVersion: tls.SecureVersion;
  readonly maxVersion: tls.SecureVersion;
  readonly sessionTimeoutS: number;
}

export const DEFAULT_TLS_POLICY: TlsPolicy = {
  ciphers: DEFAULT_TLS_CIPHERS,
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.3',
  sessionTimeoutS: DEFAULT_TLS_SESSION_TIMEOUT_S,
};

const VERSIONS: readonly tls.SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/**
 * Reads ingress-nginx's `ssl-protocols` form ("TLSv1.2 TLSv1.3"): the lowest
 * and highest named version (OpenSSL cannot leave a hole between them).
 */
export function parseTlsProtocols(text: string): { min: tls.SecureVersion; max: tls.SecureVersion } | { error: string } {
  const words = text.split(/[\s,]+/).filter((w) => w !== '');
  if (words.length === 0) return { error: 'no TLS version named' };
  const indexes: number[] = [];
  for (const w of words) {
    const i = VERSIONS.indexOf(w as tls.SecureVersion);
    if (i < 0) return { error: `unknown TLS version "${w}" (known: ${VERSIONS.join(', ')})` };
    indexes.push(i);
  }
  return { min: VERSIONS[Math.min(...indexes)]!, max: VERSIONS[Math.max(...indexes)]! };
}

/** The options every secure context and the TLS server are made with. */
export function secureContextOptions(p: TlsPolicy): tls.SecureContextOptions {
  return {
    ciphers: `${TLS13_SUITES}:${p.ciphers}`,
    minVersion: p.minVersion,
    maxVersion: p.maxVersion,
    honorCipherOrder: true,
    sessionTimeout: p.sessionTimeoutS,
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  };
}

/** Why OpenSSL refuses the policy (an unknown or empty cipher list), or undefined. */
export function checkTlsPolicy(p: TlsPolicy): string | undefined {
  try {
    // Node puts TLS_* names aside for TLS 1.3, so the TLS 1.2 list is tried alone.
    tls.createSecureContext({ ciphers: p.ciphers, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    return undefined;
  } catch (err) {
    return `OpenSSL accepts no cipher in "${p.ciphers}" (${(err as Error).message})`;
  }
}
