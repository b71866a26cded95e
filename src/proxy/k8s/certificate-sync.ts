// Keeps the certificate store equal to the TLS Secrets the Ingresses
// reference: loads a Secret when it appears or changes, drops it when no
// Ingress references it or it is deleted. A Secret that is missing or that
// the store refuses leaves its hosts on the default certificate, and gets one
// Warning Event on each Ingress referencing it (again only if the problem
// changes); the rest keeps serving. A loaded Secret updated with something
// unusable keeps its last good certificate (and is reported), as every bad
// input keeps the last good state.

import type { V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { EventRecorder } from '../../kube/events.ts';
import type { CertificateStoreApi } from '../http/types.ts';
import type { IngressRef, IngressTlsRef } from './ingress-routes.ts';
import { tlsPairFromSecret } from './tls-secret.ts';

export interface CertificateProblem {
  readonly ingress: IngressRef;
  readonly secret: string;
  readonly reason: string;
  readonly message: string;
}

export class CertificateSync {
  readonly #store: CertificateStoreApi;
  readonly #events: EventRecorder | undefined;
  readonly #log: Logger;
  /** Secret key -> resourceVersion loaded into the store. */
  readonly #loaded = new Map<string, string>();
  /** Secret key -> resourceVersion last tried (so a bad version is read once). */
  readonly #tried = new Map<string, string>();
  /** Secret key -> the problem reading it (cleared when it loads). */
  readonly #bad = new Map<string, { reason: string; message: string }>();
  /** "ingress uid or key\0secret" -> message last reported. */
  readonly #reported = new Map<string, string>();

  constructor(store: CertificateStoreApi, events: EventRecorder | undefined, log: Logger) {
    this.#store = store;
    this.#events = events;
    this.#log = log;
  }

  /** Secrets in the store now. */
  loaded(): string[] {
    return [...this.#loaded.keys()].sort();
  }

  /** The problems of the last sync, one per (Ingress, Secret). */
  sync(refs: readonly IngressTlsRef[], secrets: (key: string) => V1Secret | undefined): CertificateProblem[] {
    const wanted = new Set(refs.map((r) => r.secret));
    for (const key of [...this.#loaded.keys()]) {
      if (!wanted.has(key)) this.#unload(key, 'no Ingress references it');
    }
    for (const key of wanted) {
      const secret = secrets(key);
      const rv = secret?.metadata?.resourceVersion ?? '';
      if (secret !== undefined && this.#tried.get(key) === rv) continue;
      if (secret !== undefined) this.#tried.set(key, rv);
      else this.#tried.delete(key);
      const reading = tlsPairFromSecret(key, secret);
      if ('pair' in reading) {
        try {
          const info = this.#store.set(key, reading.pair);
          this.#loaded.set(key, rv);
          this.#bad.delete(key);
          this.#log.info({ secret: key, hosts: info.hosts, notAfter: info.notAfter.toISOString() }, 'TLS certificate loaded');
          continue;
        } catch (err) {
          this.#bad.set(key, { reason: 'TLSSecretInvalid', message: `TLS Secret ${key} is unusable: ${(err as Error).message}` });
        }
      } else {
        this.#bad.set(key, { reason: reading.reason, message: reading.message });
      }
      if (secret === undefined) this.#unload(key, this.#bad.get(key)!.message);
    }
    for (const key of [...this.#bad.keys()]) if (!wanted.has(key)) this.#bad.delete(key);
    for (const key of [...this.#tried.keys()]) if (!wanted.has(key)) this.#tried.delete(key);

    const problems: CertificateProblem[] = [];
    const stillReported = new Set<string>();
    for (const ref of refs) {
      const bad = this.#bad.get(ref.secret);
      if (bad === undefined) continue;
      const message = this.#loaded.has(ref.secret)
        ? `${bad.message}: keeping its last good certificate`
        : `${bad.message}: serving ${ref.hosts.length > 0 ? ref.hosts.join(', ') : 'its hosts'} with the default certificate`;
      problems.push({ ingress: ref.ingress, secret: ref.secret, reason: bad.reason, message });
      const id = `${ref.ingress.uid ?? `${ref.ingress.namespace}/${ref.ingress.name}`}\u0000${ref.secret}`;
      stillReported.add(id);
      if (this.#reported.get(id) === message) continue;
      this.#reported.set(id, message);
      this.#log.warn({ ingress: `${ref.ingress.namespace}/${ref.ingress.name}`, secret: ref.secret, reason: bad.reason }, message);
      this.#events?.emit(
        { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { namespace: ref.ingress.namespace, name: ref.ingress.name, uid: ref.ingress.uid } },
        'Warning',
        bad.reason,
        message,
      );
    }
    for (const id of [...this.#reported.keys()]) if (!stillReported.has(id)) this.#reported.delete(id);
    return problems;
  }

  #unload(key: string, why: string): void {
    if (!this.#loaded.delete(key)) return;
    this.#store.delete(key);
    this.#log.info({ secret: key, why }, 'TLS certificate removed');
  }
}
