// A kubernetes.io/tls Secret -> the PEM pair the certificate store takes, or
// why it cannot be. Pure: whether the PEM is usable is the store's call
// (CertificateStoreApi.set throws), this only checks the Secret's shape.

import type { V1Secret } from '@kubernetes/client-node';
import type { CertificatePair } from '../http/types.ts';

const TLS_SECRET_TYPE = 'kubernetes.io/tls';

export type TlsSecretReading = { readonly pair: CertificatePair } | { readonly reason: 'TLSSecretNotFound' | 'TLSSecretInvalid'; readonly message: string };

export function tlsPairFromSecret(key: string, secret: V1Secret | undefined): TlsSecretReading {
  if (secret === undefined) return { reason: 'TLSSecretNotFound', message: `TLS Secret ${key} not found (or not of type ${TLS_SECRET_TYPE})` };
  if (secret.type !== TLS_SECRET_TYPE) return { reason: 'TLSSecretInvalid', message: `Secret ${key} is of type ${secret.type ?? '(none)'}, not ${TLS_SECRET_TYPE}` };
  const data = secret.data ?? {};
  const missing = ['tls.crt', 'tls.key'].filter((k) => !data[k]);
  if (missing.length > 0) return { reason: 'TLSSecretInvalid', message: `TLS Secret ${key} has no ${missing.join(' and no ')}` };
  const cert = Buffer.from(data['tls.crt']!, 'base64');
  const pem = Buffer.from(data['tls.key']!, 'base64');
  if (!cert.includes('-----BEGIN CERTIFICATE-----')) return { reason: 'TLSSecretInvalid', message: `TLS Secret ${key}: tls.crt holds no PEM certificate` };
  if (!pem.includes('PRIVATE KEY-----')) return { reason: 'TLSSecretInvalid', message: `TLS Secret ${key}: tls.key holds no PEM private key` };
  return { pair: { cert, key: pem } };
}
