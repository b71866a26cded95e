// IPAddressPool status: MetalLB's counts (assignedIPv4/6, availableIPv4/6) and
// a Ready condition that says why a pool is not served. poolStatusOf is pure;
// PoolStatusWriter is the thin edge that patches the status subresource,
// coalesced: allocation changes the counts many times a second under load,
// the objects get at most one write per pool per delay.

import type { KubeClient } from '../kube/api/kube-client.ts';
import type { Logger } from 'pino';
import { METALLB_GROUP, type PoolVerdict } from '../config/metallb-pools.ts';
import type { PoolUsage } from '../ipam/allocator.ts';
import { apiStatus, describeError } from '../kube/client.ts';
import { POOL_PLURAL, POOL_VERSION } from './pool-sources.ts';

export interface PoolCondition {
  type: 'Ready';
  status: 'True' | 'False';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface PoolStatus {
  assignedIPv4: number;
  assignedIPv6: number;
  availableIPv4: number;
  availableIPv6: number;
  conditions: PoolCondition[];
}

/** int64, as the CRD (and MetalLB) declare the counts: a /64 has more addresses than that. */
const INT64_MAX = 2n ** 63n - 1n;

/** What the object's status should say; `previous` keeps lastTransitionTime while Ready does not change. */
export function poolStatusOf(v: PoolVerdict, stats: readonly PoolUsage[], previous: PoolStatus | undefined, now: Date): PoolStatus {
  const counts = { assignedIPv4: 0, assignedIPv6: 0, availableIPv4: 0, availableIPv6: 0 };
  if (v.serving) {
    for (const s of stats) {
      if (s.pool !== v.name) continue;
      const free = s.total - BigInt(s.inUse);
      const available = Number(free > INT64_MAX ? INT64_MAX : free);
      if (s.family === 4) {
        counts.assignedIPv4 = s.inUse;
        counts.availableIPv4 = available;
      } else {
        counts.assignedIPv6 = s.inUse;
        counts.availableIPv6 = available;
      }
    }
  }
  const status = v.serving ? 'True' : 'False';
  const before = previous?.conditions.find((c) => c.type === 'Ready');
  return {
    ...counts,
    conditions: [
      {
        type: 'Ready',
        status,
        reason: v.reason,
        message: v.message,
        ...(v.generation !== undefined ? { observedGeneration: v.generation } : {}),
        lastTransitionTime: before?.status === status ? before.lastTransitionTime : now.toISOString(),
      },
    ],
  };
}

export class PoolStatusWriter {
  readonly #kube: KubeClient;
  readonly #log: Logger;
  readonly #delayMs: number;
  /** What each object's status was last set to, by namespace/name/uid. */
  readonly #written = new Map<string, PoolStatus>();
  #timer: NodeJS.Timeout | undefined;
  #pending: { verdicts: readonly PoolVerdict[]; stats: () => readonly PoolUsage[] } | undefined;
  #stopped = false;

  constructor(kube: KubeClient, log: Logger, delayMs = 1000) {
    this.#kube = kube;
    this.#log = log;
    this.#delayMs = delayMs;
  }

  /** Schedules a write of every pool object whose status differs; stats are read when it runs. */
  update(verdicts: readonly PoolVerdict[], stats: () => readonly PoolUsage[]): void {
    if (this.#stopped) return;
    this.#pending = { verdicts, stats };
    this.#timer ??= setTimeout(() => void this.#flush(), this.#delayMs);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #flush(): Promise<void> {
    this.#timer = undefined;
    const pending = this.#pending;
    this.#pending = undefined;
    if (!pending || this.#stopped) return;
    let failed = false;
    const stats = pending.stats();
    const live = new Set<string>();
    const now = new Date();
    const writes: Promise<void>[] = [];
    for (const v of pending.verdicts) {
      const id = `${v.key}/${v.uid ?? ''}`;
      live.add(id);
      const before = this.#written.get(id);
      const next = poolStatusOf(v, stats, before, now);
      if (before !== undefined && JSON.stringify(before) === JSON.stringify(next)) continue;
      this.#written.set(id, next);
      writes.push(this.#write(v, next, id).then((ok) => void (failed ||= !ok)));
    }
    for (const id of this.#written.keys()) if (!live.has(id)) this.#written.delete(id);
    await Promise.all(writes);
    // Try again later, unless a newer update is already on its way.
    if (failed && this.#pending === undefined) this.update(pending.verdicts, pending.stats);
  }

  /** False when the write failed and should be tried again. */
  async #write(v: PoolVerdict, status: PoolStatus, id: string): Promise<boolean> {
    try {
      await this.#kube.mergePatch(`/apis/${METALLB_GROUP}/${POOL_VERSION}/namespaces/${v.namespace}/${POOL_PLURAL}/${v.name}/status`, { status });
      return true;
    } catch (err) {
      this.#written.delete(id);
      // Gone meanwhile: nothing to say.
      if (apiStatus(err) === 404) return true;
      this.#log.warn({ ipaddresspool: v.key, err: describeError(err) }, 'could not write IPAddressPool status; trying again');
      return false;
    }
  }
}
