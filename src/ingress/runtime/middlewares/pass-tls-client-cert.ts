// Traefik's passTLSClientCert: the client certificate of a mutual-TLS
// connection in X-Forwarded-Tls-Client-Cert (the PEM without its BEGIN/END
// lines and newlines, as Traefik v3 sends it), and the chosen fields in
// X-Forwarded-Tls-Client-Cert-Info, query-escaped as Go's url.QueryEscape:
//   Subject="C=..,O=..,CN=..";Issuer="..";SerialNumber="..";NB="<unix>";NA="<unix>";SAN="dns,...,email,...,ip,...,uri"
// (DN parts in Traefik's fixed order: DC, C, ST, L, O, OU, SN, CN; empty
// fields left out). Both fields are removed from every request first: a
// client cannot send its own (Traefik strips them from untrusted clients).
// The certificate is the client's own; the intermediates it sent are not
// shown (the runtime does not report them, see client-certificate.ts).

import { X509Certificate } from 'node:crypto';
import type { Middleware, RequestContext } from '../../../proxy/http/types.ts';
import type { DnPart, PassTlsClientCertSpec } from '../../model/middleware-spec.ts';

const CERT = 'x-forwarded-tls-client-cert';
const INFO = 'x-forwarded-tls-client-cert-info';

/** Go's url.QueryEscape: only A-Z a-z 0-9 - _ . ~ stay, a space becomes "+". */
export function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** A DN as Node prints it (one "KEY=value" per line, RFC 2253 escapes) -> its values by key, in order. */
function dnValues(dn: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of dn.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1).replace(/\\(.)/g, '$1');
    const list = out.get(key);
    if (list === undefined) out.set(key, [value]);
    else list.push(value);
  }
  return out;
}

// Node's names for the parts Traefik writes (serialNumber is the DN attribute, not the certificate's serial).
const NODE_KEY: Readonly<Record<DnPart, string>> = { DC: 'DC', C: 'C', ST: 'ST', L: 'L', O: 'O', OU: 'OU', SN: 'serialNumber', CN: 'CN' };

function dnText(dn: string, parts: readonly DnPart[]): string {
  const values = dnValues(dn);
  const out: string[] = [];
  for (const p of parts) for (const v of values.get(NODE_KEY[p]) ?? []) if (v !== '') out.push(`${p}=${v}`);
  return out.join(',');
}

/** SANs as Go lists them: DNS names, e-mail addresses, IPs, URIs. */
function sans(x: X509Certificate): string[] {
  const by: Record<string, string[]> = { DNS: [], email: [], 'IP Address': [], URI: [] };
  for (const entry of (x.subjectAltName ?? '').split(', ')) {
    const colon = entry.indexOf(':');
    if (colon > 0) by[entry.slice(0, colon)]?.push(entry.slice(colon + 1));
  }
  return [...by.DNS!, ...by.email!, ...by['IP Address']!, ...by.URI!];
}

export function certInfo(x: X509Certificate, info: NonNullable<PassTlsClientCertSpec['info']>): string {
  const fields: string[] = [];
  const subject = info.subject ? dnText(x.subject, info.subject) : '';
  if (subject !== '') fields.push(`Subject="${subject}"`);
  const issuer = info.issuer ? dnText(x.issuer, info.issuer) : '';
  if (issuer !== '') fields.push(`Issuer="${issuer}"`);
  if (info.serialNumber) fields.push(`SerialNumber="${BigInt(`0x${x.serialNumber}`).toString(10)}"`);
  if (info.notBefore) fields.push(`NB="${Math.floor(x.validFromDate.getTime() / 1000)}"`);
  if (info.notAfter) fields.push(`NA="${Math.floor(x.validToDate.getTime() / 1000)}"`);
  if (info.sans) {
    const list = sans(x);
    if (list.length > 0) fields.push(`SAN="${list.join(',')}"`);
  }
  return fields.join(';');
}

export function passTlsClientCert(name: string, spec: PassTlsClientCertSpec): Middleware {
  return {
    name,
    onRequest(ctx: RequestContext): undefined {
      ctx.removeHeader(CERT);
      ctx.removeHeader(INFO);
      const cert = ctx.clientCertificate();
      if (cert === undefined || !cert.presented) return undefined;
      if (spec.pem) ctx.setHeader(CERT, cert.pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\n/g, ''));
      if (spec.info !== undefined) ctx.setHeader(INFO, queryEscape(certInfo(new X509Certificate(cert.pem), spec.info)));
      return undefined;
    },
  };
}
