// Writes status.loadBalancer.ingress of the Ingresses this controller
// serves: the entrypoint Service's addresses on a served Ingress, none on
// one that shows ours but is no longer served, nothing on any other.
// Level-based, from the informers as they are when a pass runs; one pass
// at a time, its writes one after another, and a compile that comes during
// a pass asks for one more after it.
//
// Why one at a time: a pass per compile, each started beside the ones
// still running, wrote the same Ingress again from every pass that began
// before its watch event came back. 1,000 Ingresses applied at once made
// hundreds of concurrent writes, each on a TLS connection of its own, which
// the API client then kept open idle (about 100 connections, 12 MiB of the
// speaker's C heap).
//
// Not here: which Ingresses are served (the compiler's), the address
// (the entrypoint Service's status, the controller's).

import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeClient } from '../../kube/api/kube-client.ts';
import { apiStatus, describeError, objectKey } from '../../kube/client.ts';

export type LoadBalancerAddress = { ip: string } | { hostname: string };

/** What a pass reads: the Ingresses, which of them are served, the address to show (empty: leave status alone). */
export interface IngressStatusInputs {
  readonly ingresses: ReadonlyArray<k8s.V1Ingress>;
  readonly served: ReadonlySet<string>;
  readonly ours: ReadonlyArray<LoadBalancerAddress>;
}

/** The addresses of a status.loadBalancer.ingress list, in a form that compares as text. */
export function addressesOf(list: ReadonlyArray<{ ip?: string; hostname?: string }> | undefined): LoadBalancerAddress[] {
  return (list ?? []).map((i) => (i.ip ? { ip: i.ip } : i.hostname ? { hostname: i.hostname } : undefined)).filter((x): x is LoadBalancerAddress => x !== undefined);
}

export class IngressStatusWriter {
  readonly #kube: KubeClient;
  readonly #log: Logger;
  readonly #read: () => IngressStatusInputs | undefined;
  #running = false;
  #again = false;
  #stopped = false;
  /**
   * Ingress key -> what was written and the resourceVersion the Ingress had
   * then: while the informer still shows that version, the write has not
   * come back through the watch yet and is not made again.
   */
  readonly #written = new Map<string, { resourceVersion: string; text: string }>();

  constructor(kube: KubeClient, log: Logger, read: () => IngressStatusInputs | undefined) {
    this.#kube = kube;
    this.#log = log;
    this.#read = read;
  }

  /** Asks for a pass: now, or after the one running. */
  request(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    void this.#run();
  }

  stop(): void {
    this.#stopped = true;
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      do {
        this.#again = false;
        await this.#pass();
      } while (this.#again && !this.#stopped);
    } finally {
      this.#running = false;
    }
  }

  async #pass(): Promise<void> {
    const inputs = this.#read();
    if (inputs === undefined || inputs.ours.length === 0) return; // no address yet: leave status alone
    const oursText = JSON.stringify(inputs.ours);
    const live = new Set<string>();
    for (const ing of inputs.ingresses) {
      if (this.#stopped) return;
      const key = objectKey(ing);
      live.add(key);
      const shown = JSON.stringify(addressesOf(ing.status?.loadBalancer?.ingress));
      const want = inputs.served.has(key) ? inputs.ours : shown === oursText ? [] : undefined;
      if (want === undefined) continue;
      const text = JSON.stringify(want);
      if (text === shown) continue;
      const resourceVersion = ing.metadata?.resourceVersion ?? '';
      const before = this.#written.get(key);
      if (before !== undefined && before.resourceVersion === resourceVersion && before.text === text) continue;
      this.#written.set(key, { resourceVersion, text });
      try {
        await this.#kube.mergePatch(`/apis/networking.k8s.io/v1/namespaces/${ing.metadata?.namespace ?? ''}/ingresses/${ing.metadata?.name ?? ''}/status`, {
          status: { loadBalancer: { ingress: want.length > 0 ? want : null } },
        });
      } catch (err) {
        this.#written.delete(key);
        if (apiStatus(err) !== 404) this.#log.warn({ ingress: key, err: describeError(err) }, 'could not write Ingress status');
      }
    }
    for (const key of this.#written.keys()) if (!live.has(key)) this.#written.delete(key);
  }
}
