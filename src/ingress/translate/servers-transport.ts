// A Traefik ServersTransport -> how TLS to the pods is made (BackendTls) and
// the forwarding timeouts, as Traefik's documentation describes the fields:
// - serverName: the SNI sent and the name the certificate must carry;
// - insecureSkipVerify (default false): false verifies the pod's chain
//   against rootCAs (Secrets or ConfigMaps with `tls.ca` or `ca.crt`; the
//   older rootCAsSecrets too), or the system roots when none are given, and the
//   name (serverName, else the pod's IP, as Go's client does);
// - certificatesSecrets: the client certificate (tls.crt, tls.key) shown;
// - forwardingTimeouts.dialTimeout / responseHeaderTimeout: the connect and
//   read timeouts.
// peerCertURI and spiffe limit which pods are trusted and are not
// implemented: an error (the route is not served rather than served with
// less checking). Pool and HTTP/2 knobs are performance only: warned,
// ignored. Pure: reads Secrets and ConfigMaps through the ClusterView.

import type { BackendTls } from '../model/service-node.ts';
import type { ServersTransportObject } from '../model/traefik-crd.ts';
import type { ClusterView } from './cluster-view.ts';
import { parseTraefikDuration } from './value-parsers.ts';

export interface TransportSettings {
  readonly tls: BackendTls;
  readonly connectTimeoutMs?: number;
  readonly readTimeoutMs?: number;
  readonly warnings: readonly string[];
}

export type TransportResult = { readonly ok: true; readonly value: TransportSettings } | { readonly ok: false; readonly reason: string; readonly error: string };

const IGNORED = ['maxIdleConnsPerHost', 'disableHTTP2'];
const IGNORED_TIMEOUTS = ['idleConnTimeout', 'readIdleTimeout', 'pingTimeout'];
const KNOWN = new Set(['serverName', 'insecureSkipVerify', 'rootCAs', 'rootCAsSecrets', 'certificatesSecrets', 'forwardingTimeouts', ...IGNORED]);

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

export function transportSettings(st: ServersTransportObject, view: ClusterView): TransportResult {
  const ns = st.metadata?.namespace ?? 'default';
  const where = `ServersTransport ${ns}/${st.metadata?.name ?? ''}`;
  const fail = (reason: string, error: string): TransportResult => ({ ok: false, reason, error: `${where}: ${error}` });
  const s = st.spec ?? {};
  const warnings: string[] = [];
  for (const k of ['peerCertURI', 'spiffe']) {
    if (s[k] !== undefined && s[k] !== null && s[k] !== '') return fail('UnsupportedTransport', `${k} limits which backends are trusted and is not implemented by metalgate: routes using it are not served`);
  }
  for (const k of Object.keys(s)) if (!KNOWN.has(k) && k !== 'peerCertURI' && k !== 'spiffe') warnings.push(`${where}: ${k} is not supported and is ignored`);
  for (const k of IGNORED) if (s[k] !== undefined) warnings.push(`${where}: ${k} is ignored (connection pooling is metalgate's own)`);

  const serverName = s.serverName;
  if (serverName !== undefined && typeof serverName !== 'string') return fail('BadTransport', 'serverName must be a string');
  const skip = s.insecureSkipVerify;
  if (skip !== undefined && typeof skip !== 'boolean') return fail('BadTransport', 'insecureSkipVerify must be a boolean');

  const secretText = (name: string, keys: readonly string[]): { text?: string; error?: string } => {
    const secret = view.secret(ns, name);
    if (secret === undefined) return { error: `Secret ${ns}/${name} not found` };
    for (const k of keys) {
      const b64 = secret.data?.[k];
      const text = b64 !== undefined ? Buffer.from(b64, 'base64').toString('utf8') : secret.stringData?.[k];
      if (text !== undefined) return { text };
    }
    return { error: `Secret ${ns}/${name} has none of ${keys.join(', ')}` };
  };

  // rootCAs: [{secret: name} | {configMap: name}] (Traefik 3.2+), rootCAsSecrets: [name] before.
  const caSecrets: string[] = [];
  const cas: string[] = [];
  if (s.rootCAs !== undefined) {
    if (!Array.isArray(s.rootCAs)) return fail('BadTransport', 'rootCAs must be a list');
    for (const entry of s.rootCAs as unknown[]) {
      const e = entry as { secret?: unknown; configMap?: unknown } | null;
      if (e !== null && typeof e === 'object' && typeof e.secret === 'string') caSecrets.push(e.secret);
      else if (e !== null && typeof e === 'object' && typeof e.configMap === 'string') {
        const cm = view.configMap(ns, e.configMap);
        const text = cm?.data?.['tls.ca'] ?? cm?.data?.['ca.crt'];
        if (cm === undefined) return fail('MissingConfigMap', `rootCAs: ConfigMap ${ns}/${e.configMap} not found`);
        if (text === undefined) return fail('BadConfigMap', `rootCAs: ConfigMap ${ns}/${e.configMap} has none of tls.ca, ca.crt`);
        if (!text.includes('-----BEGIN CERTIFICATE-----')) return fail('BadConfigMap', `rootCAs: ConfigMap ${ns}/${e.configMap} holds no PEM certificate`);
        cas.push(text);
      } else return fail('BadTransport', 'rootCAs entries name a secret or a configMap');
    }
  }
  if (s.rootCAsSecrets !== undefined) {
    const list = strings(s.rootCAsSecrets);
    if (list === undefined) return fail('BadTransport', 'rootCAsSecrets must be a list of Secret names');
    caSecrets.push(...list);
  }
  for (const name of caSecrets) {
    const r = secretText(name, ['tls.ca', 'ca.crt']);
    if (r.error !== undefined) return fail('MissingSecret', `rootCAs: ${r.error}`);
    if (!r.text!.includes('-----BEGIN CERTIFICATE-----')) return fail('BadSecret', `rootCAs: Secret ${ns}/${name} holds no PEM certificate`);
    cas.push(r.text!);
  }

  let pair: { cert: string; key: string } | undefined;
  if (s.certificatesSecrets !== undefined) {
    const list = strings(s.certificatesSecrets);
    if (list === undefined) return fail('BadTransport', 'certificatesSecrets must be a list of Secret names');
    if (list.length > 1) warnings.push(`${where}: certificatesSecrets: the first client certificate (${list[0]}) is shown, the others are not`);
    if (list.length > 0) {
      const cert = secretText(list[0]!, ['tls.crt']);
      const key = secretText(list[0]!, ['tls.key']);
      if (cert.error !== undefined || key.error !== undefined) return fail('MissingSecret', `certificatesSecrets: ${cert.error ?? key.error}`);
      pair = { cert: cert.text!, key: key.text! };
    }
  }

  let connectTimeoutMs: number | undefined;
  let readTimeoutMs: number | undefined;
  const ft = s.forwardingTimeouts;
  if (ft !== undefined && ft !== null) {
    if (typeof ft !== 'object') return fail('BadTransport', 'forwardingTimeouts must be an object');
    const t = ft as Record<string, unknown>;
    for (const [field, set] of [
      ['dialTimeout', (ms: number) => (connectTimeoutMs = ms)],
      ['responseHeaderTimeout', (ms: number) => (readTimeoutMs = ms)],
    ] as const) {
      if (t[field] === undefined) continue;
      const d = parseTraefikDuration(t[field]);
      if (!d.ok) return fail('BadTransport', `forwardingTimeouts.${field}: ${d.error}`);
      // Traefik: 0 means no timeout; ours keep their defaults then.
      if (d.value > 0) set(d.value);
    }
    for (const k of IGNORED_TIMEOUTS) if (t[k] !== undefined) warnings.push(`${where}: forwardingTimeouts.${k} is ignored`);
  }

  const verify = skip !== true;
  const tls: BackendTls = {
    ...(typeof serverName === 'string' && serverName !== '' ? { servername: serverName, ...(verify ? { checkName: serverName } : {}) } : {}),
    ...(verify ? { verify: true } : {}),
    ...(cas.length > 0 ? { ca: cas.join('\n') } : {}),
    ...(pair !== undefined ? pair : {}),
  };
  return { ok: true, value: { tls, ...(connectTimeoutMs !== undefined ? { connectTimeoutMs } : {}), ...(readTimeoutMs !== undefined ? { readTimeoutMs } : {}), warnings } };
}
