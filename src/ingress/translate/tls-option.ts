// A Traefik TLSOption -> the TLS settings of the hosts of the IngressRoutes
// that name it (or of all of them, for the one named `default`), as Traefik
// documents the fields:
// - minVersion / maxVersion: VersionTLS10..VersionTLS13 (Traefik's default
//   minimum, TLS 1.2, is the entrypoint's too);
// - cipherSuites: Go's names, mapped to OpenSSL's (TLS 1.3 suites are not
//   configurable in Go either, and are ignored with a warning); a name
//   OpenSSL does not have is an error;
// - curvePreferences: CurveP256/P384/P521/X25519 (Go's or the secp names);
// - sniStrict: a server name without a certificate of its own is refused;
// - clientAuth: secretNames (Secrets of the TLSOption's namespace with
//   `tls.ca` or `ca.crt`) and clientAuthType; with CAs and no type,
//   RequireAndVerifyClientCert, as Traefik.
// RequireAndVerifyClientCert refuses a failing client in the handshake, as
// Traefik (Go) does; the other types ask in the handshake and are checked
// at each request (400) by the same check as auth-tls (client-cert
// middleware), which also refuses a request for the host over another
// host's connection. Pure.

import { caDigest } from '../../common/ca-digest.ts';
import type { ClientCertSpec } from '../model/middleware-spec.ts';
import type { TlsOptionObject } from '../model/traefik-crd.ts';
import type { ClusterView } from './cluster-view.ts';

type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface TlsOptionSettings {
  /** The host settings (HostTls without the host). */
  readonly tls: {
    readonly ca?: string;
    readonly minVersion?: TlsVersion;
    readonly maxVersion?: TlsVersion;
    readonly ciphers?: string;
    readonly ecdhCurve?: string;
    readonly sniStrict?: boolean;
    readonly requireClientCert?: boolean;
  };
  /** The request-time check when clientAuth asks for anything. */
  readonly clientCert?: ClientCertSpec;
  readonly warnings: readonly string[];
}

export type TlsOptionResult = { readonly ok: true; readonly value: TlsOptionSettings } | { readonly ok: false; readonly reason: string; readonly error: string };

const VERSIONS: Readonly<Record<string, TlsVersion>> = { VersionTLS10: 'TLSv1', VersionTLS11: 'TLSv1.1', VersionTLS12: 'TLSv1.2', VersionTLS13: 'TLSv1.3' };
const ORDER: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** Go's TLS 1.0-1.2 cipher suite names -> OpenSSL's. */
const GO_CIPHERS: Readonly<Record<string, string>> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
};
const TLS13_SUITES = new Set(['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']);
const CURVES: Readonly<Record<string, string>> = {
  CurveP256: 'P-256',
  secp256r1: 'P-256',
  CurveP384: 'P-384',
  secp384r1: 'P-384',
  CurveP521: 'P-521',
  secp521r1: 'P-521',
  X25519: 'X25519',
};
const CLIENT_AUTH: Readonly<Record<string, ClientCertSpec['verify'] | null>> = {
  NoClientCert: null,
  RequestClientCert: 'optional_no_ca',
  RequireAnyClientCert: 'require_any',
  VerifyClientCertIfGiven: 'optional',
  RequireAndVerifyClientCert: 'on',
};
const KNOWN = new Set(['minVersion', 'maxVersion', 'cipherSuites', 'curvePreferences', 'clientAuth', 'sniStrict', 'alpnProtocols', 'preferServerCipherSuites', 'disableSessionTickets']);

const stringList = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined);

export function tlsOptionSettings(o: TlsOptionObject, view: ClusterView): TlsOptionResult {
  const ns = o.metadata?.namespace ?? 'default';
  const where = `TLSOption ${ns}/${o.metadata?.name ?? ''}`;
  const fail = (reason: string, error: string): TlsOptionResult => ({ ok: false, reason, error: `${where}: ${error}` });
  const s = o.spec ?? {};
  const warnings: string[] = [];
  for (const k of Object.keys(s)) if (!KNOWN.has(k)) warnings.push(`${where}: ${k} is not supported and is ignored`);
  for (const k of ['alpnProtocols', 'preferServerCipherSuites', 'disableSessionTickets']) if (s[k] !== undefined) warnings.push(`${where}: ${k} is ignored (the entrypoint's own)`);

  const version = (field: 'minVersion' | 'maxVersion'): TlsVersion | undefined | Error => {
    const v = s[field];
    if (v === undefined || v === null || v === '') return undefined;
    const mapped = typeof v === 'string' ? VERSIONS[v] : undefined;
    return mapped ?? new Error(`${field} ${JSON.stringify(v)} is not VersionTLS10, VersionTLS11, VersionTLS12 or VersionTLS13`);
  };
  const minVersion = version('minVersion');
  const maxVersion = version('maxVersion');
  if (minVersion instanceof Error) return fail('BadTlsOption', minVersion.message);
  if (maxVersion instanceof Error) return fail('BadTlsOption', maxVersion.message);
  if (minVersion !== undefined && maxVersion !== undefined && ORDER.indexOf(minVersion) > ORDER.indexOf(maxVersion)) return fail('BadTlsOption', `minVersion ${String(s.minVersion)} is above maxVersion ${String(s.maxVersion)}`);

  let ciphers: string | undefined;
  if (s.cipherSuites !== undefined && s.cipherSuites !== null) {
    const list = stringList(s.cipherSuites);
    if (list === undefined) return fail('BadTlsOption', 'cipherSuites must be a list of names');
    const mapped: string[] = [];
    for (const name of list) {
      if (TLS13_SUITES.has(name)) {
        warnings.push(`${where}: cipherSuites: ${name} is a TLS 1.3 suite, which is not configurable (as in Traefik): ignored`);
        continue;
      }
      const m = GO_CIPHERS[name];
      if (m === undefined) return fail('BadTlsOption', `cipherSuites: ${JSON.stringify(name)} is not a cipher suite metalgate offers`);
      mapped.push(m);
    }
    if (mapped.length > 0) ciphers = mapped.join(':');
  }

  let ecdhCurve: string | undefined;
  if (s.curvePreferences !== undefined && s.curvePreferences !== null) {
    const list = stringList(s.curvePreferences);
    if (list === undefined) return fail('BadTlsOption', 'curvePreferences must be a list of names');
    const mapped: string[] = [];
    for (const name of list) {
      const m = CURVES[name];
      if (m === undefined) return fail('BadTlsOption', `curvePreferences: ${JSON.stringify(name)} is not a curve metalgate offers (CurveP256, CurveP384, CurveP521, X25519)`);
      mapped.push(m);
    }
    if (mapped.length > 0) ecdhCurve = mapped.join(':');
  }

  const sniStrict = s.sniStrict;
  if (sniStrict !== undefined && typeof sniStrict !== 'boolean') return fail('BadTlsOption', 'sniStrict must be a boolean');

  let ca: string | undefined;
  let clientCert: ClientCertSpec | undefined;
  if (s.clientAuth !== undefined && s.clientAuth !== null) {
    if (typeof s.clientAuth !== 'object' || Array.isArray(s.clientAuth)) return fail('BadTlsOption', 'clientAuth must be an object');
    const c = s.clientAuth as Record<string, unknown>;
    const names = c.secretNames === undefined ? [] : stringList(c.secretNames);
    if (names === undefined) return fail('BadTlsOption', 'clientAuth.secretNames must be a list of Secret names');
    const cas: string[] = [];
    for (const name of names) {
      const secret = view.secret(ns, name);
      if (secret === undefined) return fail('MissingSecret', `clientAuth.secretNames: Secret ${ns}/${name} not found`);
      const b64 = secret.data?.['tls.ca'] ?? secret.data?.['ca.crt'];
      const text = b64 !== undefined ? Buffer.from(b64, 'base64').toString('utf8') : (secret.stringData?.['tls.ca'] ?? secret.stringData?.['ca.crt']);
      if (text === undefined || !text.includes('-----BEGIN CERTIFICATE-----')) return fail('BadSecret', `clientAuth.secretNames: Secret ${ns}/${name} has no tls.ca or ca.crt with a PEM certificate`);
      cas.push(text);
    }
    const typeText = c.clientAuthType ?? (cas.length > 0 ? 'RequireAndVerifyClientCert' : 'NoClientCert');
    const verify = typeof typeText === 'string' ? CLIENT_AUTH[typeText] : undefined;
    if (verify === undefined) return fail('BadTlsOption', `clientAuth.clientAuthType ${JSON.stringify(typeText)} is not NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert`);
    if ((verify === 'on' || verify === 'optional') && cas.length === 0) return fail('BadTlsOption', `clientAuth.clientAuthType ${String(typeText)} needs secretNames (the CAs that verify client certificates)`);
    if (verify !== null) {
      // An empty CA still asks for a certificate (RequestClientCert, RequireAnyClientCert without CAs).
      ca = cas.join('\n');
      clientCert = { type: 'clientCert', verify, fields: false, passCertificate: false, caDigest: caDigest(ca) };
    } else if (cas.length > 0) warnings.push(`${where}: clientAuth.secretNames are not used with NoClientCert`);
  }

  return {
    ok: true,
    value: {
      tls: {
        ...(ca !== undefined ? { ca } : {}),
        ...(minVersion !== undefined ? { minVersion } : {}),
        ...(maxVersion !== undefined ? { maxVersion } : {}),
        ...(ciphers !== undefined ? { ciphers } : {}),
        ...(ecdhCurve !== undefined ? { ecdhCurve } : {}),
        ...(sniStrict === true ? { sniStrict: true } : {}),
        // RequireAndVerifyClientCert: refused in the handshake, as Go's TLS server does.
        ...(clientCert?.verify === 'on' ? { requireClientCert: true } : {}),
      },
      ...(clientCert !== undefined ? { clientCert } : {}),
      warnings,
    },
  };
}
