// Per-host TLS on the websecure entrypoint (auth-tls client certificates,
// Traefik TLSOption): which settings a server name gets (its own host, else
// the wildcard one label up), the TLS policy they make, and the SNI
// contexts that carry the host's certificate and CA.
//
// Versions and cipher lists are fixed when OpenSSL starts a handshake,
// before the server name is read, so a context switched in by SNI cannot
// change them: hosts with their own settings are handed, by the server name
// read from the ClientHello beforehand, to a TLS server built with those
// settings (one per distinct set, serverKey). The CA travels in the SNI
// context (certificate verification reads the switched context's store).

import type { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { CertificateStore } from './certificates.ts';
import { caDigest } from '../../common/ca-digest.ts';
import { certificatesOf } from './client-certificate.ts';
import { secureContextOptions, type TlsPolicy } from './tls-policy.ts';
import type { CertificatePair, HostTlsSettings } from './types.ts';

/** The server key of settings that change nothing the handshake offers. */
export const PLAIN_SERVER = '';

export class HostTlsTable {
  #hosts: ReadonlyMap<string, HostTlsSettings> = new Map();
  readonly #contexts = new Map<string, { pair: CertificatePair; settings: HostTlsSettings; context: tls.SecureContext }>();
  readonly #bundles = new Map<string, { certificates: X509Certificate[]; digest: string }>();

  set(hosts: ReadonlyMap<string, HostTlsSettings>): void {
    this.#hosts = hosts;
    this.#contexts.clear();
    this.#bundles.clear();
  }

  get size(): number {
    return this.#hosts.size;
  }

  /** A (lowercase) server name's settings: its own host, else the wildcard one label up. */
  settingsFor(name: string): HostTlsSettings | undefined {
    const exact = this.#hosts.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf('.');
    return dot > 0 ? this.#hosts.get(`*${name.slice(dot)}`) : undefined;
  }

  /** Which TLS server a host's connections go to: PLAIN_SERVER, or one per distinct offer. */
  static serverKey(s: HostTlsSettings): string {
    if (s.ca === undefined && s.minVersion === undefined && s.maxVersion === undefined && s.ciphers === undefined && s.ecdhCurve === undefined) return PLAIN_SERVER;
    return JSON.stringify([s.ca !== undefined, s.requireClientCert === true, s.minVersion ?? '', s.maxVersion ?? '', s.ciphers ?? '', s.ecdhCurve ?? '']);
  }

  /** The entrypoint's policy narrowed by a host's settings. */
  static policyOf(base: TlsPolicy, s: HostTlsSettings): TlsPolicy {
    return { ...base, ...(s.minVersion ? { minVersion: s.minVersion } : {}), ...(s.maxVersion ? { maxVersion: s.maxVersion } : {}), ...(s.ciphers ? { ciphers: s.ciphers } : {}) };
  }

  /**
   * The SNI context for a server name: the store's for a name without
   * settings; else one with the host's certificate, policy and CA. An Error
   * refuses the handshake (sniStrict without a certificate of its own, or
   * settings OpenSSL refuses).
   */
  context(servername: string, certs: CertificateStore): tls.SecureContext | undefined | Error {
    const name = servername.toLowerCase();
    const s = this.settingsFor(name);
    if (s === undefined) return certs.contextFor(servername);
    const own = certs.contextFor(servername);
    if (s.sniStrict && own === undefined) return new Error(`no certificate for ${JSON.stringify(name)} (sniStrict)`);
    if (HostTlsTable.serverKey(s) === PLAIN_SERVER) return own;
    const pair = certs.pairFor(name);
    const cached = this.#contexts.get(name);
    if (cached !== undefined && cached.pair === pair && cached.settings === s) return cached.context;
    try {
      const context = tls.createSecureContext({
        ...secureContextOptions(HostTlsTable.policyOf(certs.policy, s)),
        ...(s.ecdhCurve !== undefined ? { ecdhCurve: s.ecdhCurve } : {}),
        cert: pair.cert,
        key: pair.key,
        ...(s.ca ? { ca: s.ca } : {}),
      });
      this.#contexts.set(name, { pair, settings: s, context });
      return context;
    } catch (e) {
      return new Error(`TLS settings of ${JSON.stringify(name)} refused by OpenSSL: ${(e as Error).message}`);
    }
  }

  /** The CA bundle a server name verifies clients with: its certificates and its caDigest. */
  caBundle(name: string): { readonly certificates: readonly X509Certificate[]; readonly digest: string } {
    const pem = this.settingsFor(name)?.ca ?? '';
    let bundle = this.#bundles.get(pem);
    if (bundle === undefined) this.#bundles.set(pem, (bundle = { certificates: certificatesOf(pem), digest: caDigest(pem) }));
    return bundle;
  }
}
