// TLS certificates by SNI: pairs set under a key (the Secret's ns/name), each
// serving the DNS names of its certificate. A client's server name picks the
// most specific match: an exact name first, then a wildcard for its parent
// (`*.foo.com` covers exactly one label), else the default certificate. When
// several pairs claim one name, the lowest key wins (deterministic).

import { X509Certificate, createPrivateKey } from 'node:crypto';
import tls from 'node:tls';
import { createSelfSignedCertificate } from './self-signed.ts';
import { DEFAULT_TLS_POLICY, secureContextOptions, type TlsPolicy } from './tls-policy.ts';
import type { CertificateInfo, CertificatePair, CertificateStoreApi } from './types.ts';

interface Entry {
  readonly key: string;
  readonly context: tls.SecureContext;
  readonly pair: CertificatePair;
  readonly info: CertificateInfo;
}

/** The DNS names a certificate serves, lowercased: SAN DNS entries, else the subject CN. */
export function certificateHosts(x: X509Certificate): string[] {
  const san = x.subjectAltName;
  if (san !== undefined && san.length > 0) {
    const out: string[] = [];
    for (const part of san.split(', ')) if (part.startsWith('DNS:')) out.push(part.slice(4).toLowerCase());
    if (out.length > 0) return out;
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x.subject)?.[1];
  return cn === undefined ? [] : [cn.toLowerCase()];
}

function insert(map: Map<string, Entry[]>, name: string, e: Entry): void {
  const list = map.get(name);
  if (list === undefined) {
    map.set(name, [e]);
    return;
  }
  list.push(e);
  list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function remove(map: Map<string, Entry[]>, name: string, key: string): void {
  const list = map.get(name);
  if (list === undefined) return;
  const kept = list.filter((e) => e.key !== key);
  if (kept.length === 0) map.delete(name);
  else map.set(name, kept);
}

/**
 * Whether a pair is usable (a PEM certificate, a PEM key, and they match),
 * without building a TLS context: what the process that reads Secrets
 * checks before handing a pair to the processes that serve. Throws with a
 * readable reason.
 */
export function checkCertificatePair(pair: CertificatePair): CertificateInfo {
  let x: X509Certificate;
  try {
    x = new X509Certificate(pair.cert);
  } catch (e) {
    throw new Error(`certificate is not a valid PEM X.509 certificate: ${(e as Error).message}`);
  }
  let key;
  try {
    key = createPrivateKey(pair.key);
  } catch (e) {
    throw new Error(`private key is not a valid PEM key: ${(e as Error).message}`);
  }
  if (!x.checkPrivateKey(key)) throw new Error('private key does not match the certificate');
  return { hosts: certificateHosts(x), notAfter: new Date(x.validTo) };
}

export class CertificateStore implements CertificateStoreApi {
  private readonly bySecret = new Map<string, Entry>();
  private readonly exact = new Map<string, Entry[]>();
  /** Parent domain ("foo.com" for "*.foo.com") -> entries. */
  private readonly wildcard = new Map<string, Entry[]>();
  private defaultPair: CertificatePair;
  private defaultInfo: CertificateInfo;
  private defaultCtx: tls.SecureContext | undefined;
  private readonly listeners = new Set<(pair: CertificatePair) => void>();
  /** True while the default certificate is the generated self-signed one. */
  generatedDefault: boolean;

  /** Every context this store makes offers the same protocols and suites. */
  readonly policy: TlsPolicy;

  /** Without a default pair, a self-signed certificate is generated. */
  constructor(defaultPair?: CertificatePair, policy: TlsPolicy = DEFAULT_TLS_POLICY) {
    this.policy = policy;
    this.generatedDefault = defaultPair === undefined;
    this.defaultPair = defaultPair ?? createSelfSignedCertificate({ names: ['metalgate-default.invalid'] });
    this.defaultInfo = this.inspect(this.defaultPair).info;
  }

  /** Checks a pair and returns its context and info; throws with a readable reason. */
  private inspect(pair: CertificatePair): { context: tls.SecureContext; info: CertificateInfo } {
    const info = checkCertificatePair(pair);
    const context = tls.createSecureContext({ ...secureContextOptions(this.policy), cert: pair.cert, key: pair.key });
    return { context, info };
  }

  set(secretKey: string, pair: CertificatePair): CertificateInfo {
    const { context, info } = this.inspect(pair);
    this.delete(secretKey);
    const e: Entry = { key: secretKey, context, pair, info };
    this.bySecret.set(secretKey, e);
    for (const h of info.hosts) {
      if (h.startsWith('*.')) insert(this.wildcard, h.slice(2), e);
      else insert(this.exact, h, e);
    }
    return info;
  }

  keys(): string[] {
    return [...this.bySecret.keys()];
  }

  delete(secretKey: string): boolean {
    const e = this.bySecret.get(secretKey);
    if (e === undefined) return false;
    this.bySecret.delete(secretKey);
    for (const h of e.info.hosts) {
      if (h.startsWith('*.')) remove(this.wildcard, h.slice(2), secretKey);
      else remove(this.exact, h, secretKey);
    }
    return true;
  }

  setDefault(pair: CertificatePair): CertificateInfo {
    const { info } = this.inspect(pair);
    this.defaultPair = pair;
    this.defaultInfo = info;
    this.defaultCtx = undefined;
    this.generatedDefault = false;
    for (const l of this.listeners) l(pair);
    return info;
  }

  get defaultCertificate(): { readonly pair: CertificatePair; readonly info: CertificateInfo } {
    return { pair: this.defaultPair, info: this.defaultInfo };
  }

  /** The context of the pair held under `secretKey`, undefined when none is. */
  contextOfSecret(secretKey: string): tls.SecureContext | undefined {
    return this.bySecret.get(secretKey)?.context;
  }

  /** The default pair's context (made on first use, again after setDefault). */
  defaultContext(): tls.SecureContext {
    return (this.defaultCtx ??= tls.createSecureContext({ ...secureContextOptions(this.policy), cert: this.defaultPair.cert, key: this.defaultPair.key }));
  }

  /** Called when the default pair changes (the entrypoint's TLS server follows it). */
  onDefaultChange(listener: (pair: CertificatePair) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private entryFor(servername: string): Entry | undefined {
    let name = servername.toLowerCase();
    if (name.endsWith('.')) name = name.slice(0, -1);
    const exact = this.exact.get(name);
    if (exact !== undefined) return exact[0];
    const dot = name.indexOf('.');
    if (dot <= 0) return undefined;
    return this.wildcard.get(name.slice(dot + 1))?.[0];
  }

  lookup(servername: string): string | undefined {
    return this.entryFor(servername)?.key;
  }

  /** The pair that serves a server name (the default one when no Secret names it). */
  pairFor(servername: string): CertificatePair {
    return (servername.length === 0 ? undefined : this.entryFor(servername)?.pair) ?? this.defaultPair;
  }

  /** The context for a server name, undefined for the default. */
  contextFor(servername: string): tls.SecureContext | undefined {
    return servername.length === 0 ? undefined : this.entryFor(servername)?.context;
  }

  get size(): number {
    return this.bySecret.size;
  }

  /** For tls.createServer({ SNICallback }). */
  readonly sniCallback = (servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void): void => {
    cb(null, this.contextFor(servername));
  };
}
