// The L7 engine's pieces for the ingress entrypoint: one certificate store
// (Secrets by SNI, a generated self-signed default until a default Secret is
// configured) and two entrypoints sharing it, `web` (port 80) and `websecure`
// (port 443, TLS terminated here), registered in the process' registry.

import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { CertificateStore } from '../http/certificates.ts';
import { HttpEntrypoint } from '../http/entrypoint.ts';
import type { TlsPolicy } from '../http/tls-policy.ts';
import type { ClientTimeouts } from '../http/types.ts';
import type { ProxyHttpEngine } from '../proxy-runtime.ts';

export interface HttpEngineOptions {
  readonly log: Logger;
  readonly registry: Registry;
  readonly accessLogSampleRate: number;
  readonly tlsPolicy?: TlsPolicy | undefined;
  readonly underscoresInHeaders?: boolean | undefined;
  /** Client timeouts other than the defaults (CLIENT_TIMEOUT_DEFAULTS), for both entrypoints. */
  readonly timeouts?: Partial<ClientTimeouts> | undefined;
}

export function createHttpEngine(o: HttpEngineOptions): ProxyHttpEngine {
  const certificates = new CertificateStore(undefined, o.tlsPolicy);
  const common = { logger: o.log, registry: o.registry, accessLogSampleRate: o.accessLogSampleRate, underscoresInHeaders: o.underscoresInHeaders ?? false, ...(o.timeouts ? { timeouts: o.timeouts } : {}) };
  return {
    web: new HttpEntrypoint({ ...common, name: 'web' }),
    websecure: new HttpEntrypoint({ ...common, name: 'websecure', certificates }),
    certificates,
  };
}
