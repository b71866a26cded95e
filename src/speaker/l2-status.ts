// MetalLB's ServiceL2Status objects (metallb.io/v1beta1, MetalLB 0.14+): one
// per Service this node announces, in the speakers' namespace, saying which
// node and which interfaces carry its IPs, so `kubectl get servicel2status`
// answers "where is my IP?". The node that announces writes them; a clean
// stop deletes them, and the first live speaker deletes those of nodes no
// longer live (a crashed node's).
//
// A thin adapter around a pure diff (`l2StatusPlan`): desired objects in,
// creates, status patches and deletes out, one sync at a time, coalesced.
// Optional like the other metallb.io kinds: while the CRD is missing nothing
// is written, and it is looked for again every retryMs.

import type { Logger } from 'pino';
import { METALLB_GROUP } from '../config/metallb-pools.ts';
import { apiStatus, describeError } from '../kube/client.ts';
import type { KubeClient } from '../kube/api/kube-client.ts';

const L2_STATUS_NODE_LABEL = 'metallb.io/node';
const L2_STATUS_SERVICE_NAME_LABEL = 'metallb.io/service-name';
const L2_STATUS_SERVICE_NAMESPACE_LABEL = 'metallb.io/service-namespace';
const VERSION = 'v1beta1';
const PLURAL = 'servicel2statuses';

/** What one Service's status says. */
export interface L2StatusEntry {
  serviceNamespace: string;
  serviceName: string;
  /** Sorted interface names. */
  interfaces: string[];
}

/** An object as listed: its name and what it says. */
export interface L2StatusObject {
  name: string;
  node: string;
  entry: L2StatusEntry;
}

export interface L2StatusPlan {
  create: L2StatusEntry[];
  /** Existing objects whose interfaces changed. */
  patch: Array<{ name: string; entry: L2StatusEntry }>;
  delete: string[];
}

const keyOf = (e: { serviceNamespace: string; serviceName: string }) => `${e.serviceNamespace}/${e.serviceName}`;

/**
 * What to do so that `node`'s objects say `desired`; with `live`, the objects
 * of nodes not in it go too. Pure. A Service with two objects of this node
 * keeps the first.
 */
export function l2StatusPlan(node: string, desired: readonly L2StatusEntry[], existing: readonly L2StatusObject[], live?: ReadonlySet<string>): L2StatusPlan {
  const want = new Map(desired.map((e) => [keyOf(e), e]));
  const plan: L2StatusPlan = { create: [], patch: [], delete: [] };
  const kept = new Set<string>();
  for (const o of existing) {
    if (o.node !== node) {
      if (live !== undefined && !live.has(o.node)) plan.delete.push(o.name);
      continue;
    }
    const key = keyOf(o.entry);
    const entry = want.get(key);
    if (entry === undefined || kept.has(key)) {
      plan.delete.push(o.name);
      continue;
    }
    kept.add(key);
    if (entry.interfaces.join(',') !== o.entry.interfaces.join(',')) plan.patch.push({ name: o.name, entry });
  }
  for (const [key, entry] of want) if (!kept.has(key)) plan.create.push(entry);
  return plan;
}

interface RawStatus {
  metadata?: { name?: string; labels?: Record<string, string> };
  status?: { node?: string; serviceName?: string; serviceNamespace?: string; interfaces?: Array<{ name?: string }> };
}

export class ServiceL2StatusWriter {
  readonly #kube: KubeClient;
  readonly #log: Logger;
  readonly #namespace: string;
  readonly #node: string;
  readonly #retryMs: number;
  #desired: L2StatusEntry[] = [];
  #live: ReadonlySet<string> | undefined;
  /** What the last successful sync wrote (desired and live), to skip a sync that would change nothing. */
  #synced = '';
  #running: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  /** While the CRD is missing: when to look again. */
  #missingUntil = 0;
  #stopped = false;

  constructor(kube: KubeClient, log: Logger, opts: { namespace: string; nodeName: string; retryMs?: number }) {
    this.#kube = kube;
    this.#log = log;
    this.#namespace = opts.namespace;
    this.#node = opts.nodeName;
    this.#retryMs = opts.retryMs ?? 30_000;
  }

  /**
   * What this node announces now. `live`: the live speakers, given only by
   * the one that cleans up after the others.
   */
  set(desired: L2StatusEntry[], live?: ReadonlySet<string>): void {
    if (this.#stopped) return;
    this.#desired = desired;
    this.#live = live;
    if (this.#fingerprint() !== this.#synced) this.#kick();
  }

  #fingerprint(): string {
    return JSON.stringify([this.#desired, this.#live === undefined ? null : [...this.#live].sort()]);
  }

  /** Deletes this node's objects (a clean stop) and stops. */
  async stop(clean: boolean): Promise<void> {
    this.#stopped = true;
    this.#desired = [];
    this.#live = undefined;
    clearTimeout(this.#timer);
    await this.#running;
    if (clean && this.#synced !== '') await this.#sync().catch(() => {});
  }

  #kick(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    // Coalesces a burst (a takeover of many IPs) into one sync.
    this.#timer = setTimeout(() => {
      this.#running = this.#loop().finally(() => (this.#running = undefined));
    }, 100);
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      if (this.#stopped || performance.now() < this.#missingUntil) return;
      const fingerprint = this.#fingerprint();
      if (fingerprint === this.#synced) return;
      try {
        await this.#sync();
        this.#synced = fingerprint;
      } catch (err) {
        if (apiStatus(err) === 404 && this.#missingUntil === 0) {
          this.#log.info(`CRD ${PLURAL}.${METALLB_GROUP} is not installed: no ServiceL2Status objects are written (checked again every ${Math.round(this.#retryMs / 1000)} s)`);
        } else if (apiStatus(err) !== 404) {
          this.#log.warn({ err: describeError(err) }, 'could not write ServiceL2Status objects; retrying');
        }
        this.#missingUntil = performance.now() + (apiStatus(err) === 404 ? this.#retryMs : 1000);
        this.#timer = setTimeout(() => this.#kick(), apiStatus(err) === 404 ? this.#retryMs : 1000);
        return;
      }
      this.#missingUntil = 0;
    } while (this.#again && !this.#stopped);
  }

  async #sync(): Promise<void> {
    const namespace = this.#namespace;
    const live = this.#live;
    const list = await this.#kube.list<RawStatus>(this.#path(), live === undefined ? { labelSelector: `${L2_STATUS_NODE_LABEL}=${this.#node}` } : undefined);
    const existing: L2StatusObject[] = (list.items ?? []).map((o) => ({
      name: o.metadata?.name ?? '',
      node: o.metadata?.labels?.[L2_STATUS_NODE_LABEL] ?? o.status?.node ?? '',
      entry: {
        serviceNamespace: o.status?.serviceNamespace ?? o.metadata?.labels?.[L2_STATUS_SERVICE_NAMESPACE_LABEL] ?? '',
        serviceName: o.status?.serviceName ?? o.metadata?.labels?.[L2_STATUS_SERVICE_NAME_LABEL] ?? '',
        interfaces: (o.status?.interfaces ?? []).map((i) => i.name ?? '').sort(),
      },
    }));
    const plan = l2StatusPlan(this.#node, this.#desired, existing, live);
    for (const name of plan.delete) {
      await this.#kube.delete(this.#path(name)).catch((err: unknown) => {
        if (apiStatus(err) !== 404) throw err;
      });
    }
    for (const entry of plan.create) {
      const created = await this.#kube.create<RawStatus>(this.#path(), {
          apiVersion: `${METALLB_GROUP}/${VERSION}`,
          kind: 'ServiceL2Status',
          metadata: {
            generateName: 'l2-',
            namespace,
            labels: {
              [L2_STATUS_NODE_LABEL]: this.#node,
              [L2_STATUS_SERVICE_NAME_LABEL]: entry.serviceName,
              [L2_STATUS_SERVICE_NAMESPACE_LABEL]: entry.serviceNamespace,
            },
          },
          spec: {},
      });
      // The status subresource ignores status on create: it is written apart.
      await this.#writeStatus(created.metadata?.name ?? '', entry);
    }
    for (const { name, entry } of plan.patch) await this.#writeStatus(name, entry);
  }

  async #writeStatus(name: string, entry: L2StatusEntry): Promise<void> {
    await this.#kube.mergePatch(`${this.#path(name)}/status`, {
      status: {
        node: this.#node,
        serviceName: entry.serviceName,
        serviceNamespace: entry.serviceNamespace,
        interfaces: entry.interfaces.map((n) => ({ name: n })),
      },
    });
  }

  #path(name?: string): string {
    return `/apis/${METALLB_GROUP}/${VERSION}/namespaces/${this.#namespace}/${PLURAL}${name ? `/${name}` : ''}`;
  }
}
