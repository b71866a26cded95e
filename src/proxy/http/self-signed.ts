// A self-signed certificate for the default TLS certificate, built with
// node:crypto alone (X509Certificate can read certificates, not make them):
// an EC P-256 key and a minimal X.509 v3 certificate in DER (RFC 5280) with
// the names as subjectAltName DNS entries, signed ECDSA-SHA256. Pure apart
// from key generation and randomness.

import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type { CertificatePair } from './types.ts';

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  if (n < 0x10000) return Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
}

/** One DER TLV. */
function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
}

const seq = (...c: Buffer[]): Buffer => tlv(0x30, ...c);

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const bytes: number[] = [parts[0]! * 40 + parts[1]!];
  for (const p of parts.slice(2)) {
    const stack: number[] = [p & 0x7f];
    for (let v = p >>> 7; v > 0; v >>>= 7) stack.unshift((v & 0x7f) | 0x80);
    bytes.push(...stack);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** UTCTime before 2050, GeneralizedTime after (RFC 5280 §4.1.2.5). */
function time(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'latin1')) : tlv(0x18, Buffer.from(`${digits}Z`, 'latin1'));
}

function name(commonName: string): Buffer {
  return seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(commonName, 'utf8')))));
}

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

export interface SelfSignedOptions {
  /** DNS names (subjectAltName); the first is also the CN. Default ["metalgate.invalid"]. */
  readonly names?: readonly string[];
  readonly days?: number;
  /** Supply a key (tests); default a new P-256 key. */
  readonly privateKey?: KeyObject;
  readonly publicKey?: KeyObject;
}

export function createSelfSignedCertificate(opts: SelfSignedOptions = {}): CertificatePair {
  const names = opts.names ?? ['metalgate.invalid'];
  if (names.length === 0) throw new Error('a certificate needs at least one name');
  let { privateKey, publicKey } = opts;
  if (privateKey === undefined || publicKey === undefined) ({ privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' }));
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive, no leading zero byte needed
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + (opts.days ?? 365) * 86_400_000);
  const san = seq(...names.map((n) => tlv(0x82, Buffer.from(n, 'latin1'))));
  const extensions = tlv(
    0xa3,
    seq(
      seq(oid('2.5.29.17'), tlv(0x04, san)),
      // basicConstraints: not a CA (critical).
      seq(oid('2.5.29.19'), tlv(0x01, Buffer.from([0xff])), tlv(0x04, seq())),
    ),
  );
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, serial),
    ECDSA_SHA256,
    name(names[0]!),
    seq(time(notBefore), time(notAfter)),
    name(names[0]!),
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, ECDSA_SHA256, tlv(0x03, Buffer.from([0]), signature));
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${b64.trimEnd()}\n-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
