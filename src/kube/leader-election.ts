// Leader election through one Lease, so two controller replicas never
// allocate at once. Writes use the Lease's resourceVersion (optimistic
// concurrency): of two candidates racing for an expired lease, one gets 409.
import type * as k8s from '@kubernetes/client-node';
import type { KubeClient } from './api/kube-client.ts';
import type { Logger } from 'pino';
import { performance } from 'node:perf_hooks';
import { apiStatus, describeError, microTime } from './client.ts';
import { decide, observe, type LeaseRecord, type Observation } from './lease-decision.ts';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void | Promise<void>;
  onStoppedLeading: () => void | Promise<void>;
}

export class LeaderElector {
  private readonly kube: KubeClient;
  private readonly opts: Required<Omit<LeaderElectionOptions, 'onStartedLeading' | 'onStoppedLeading'>> &
    Pick<LeaderElectionOptions, 'onStartedLeading' | 'onStoppedLeading'>;
  private observation: Observation | undefined;
  private leading = false;
  private lastRenew = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();

  private readonly log: Logger;

  constructor(kube: KubeClient, log: Logger, opts: LeaderElectionOptions) {
    this.log = log;
    this.kube = kube;
    this.opts = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...opts };
  }

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops campaigning; a leader releases the Lease so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    if (this.leading) {
      this.leading = false;
      await this.release();
      await this.opts.onStoppedLeading();
    }
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        if (!this.stopped) this.schedule(this.opts.retryPeriodMs);
      });
    }, ms);
  }

  private async tick(): Promise<void> {
    const now = performance.now();
    const ok = await this.tryAcquireOrRenew(now).catch((err: unknown) => {
      this.log.warn({ lease: this.opts.name, err: describeError(err) }, 'leader election: lease update failed');
      return false;
    });
    if (this.stopped) return;
    if (ok) {
      this.lastRenew = now;
      if (!this.leading) {
        this.leading = true;
        this.log.info({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity }, 'became leader');
        await this.opts.onStartedLeading();
      }
    } else if (this.leading && (now - this.lastRenew > this.opts.renewDeadlineMs || this.heldByOther())) {
      this.leading = false;
      this.log.warn({ lease: this.opts.name }, 'lost leadership');
      await this.opts.onStoppedLeading();
    }
  }

  private heldByOther(): boolean {
    const h = this.observation?.record.holder;
    return h !== undefined && h !== '' && h !== this.opts.identity;
  }

  private async tryAcquireOrRenew(now: number): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    let lease: k8s.V1Lease | undefined;
    try {
      lease = await this.kube.get<k8s.V1Lease>(leasePath(namespace, name));
    } catch (err) {
      if (apiStatus(err) !== 404) throw err;
    }
    this.observation = observe(this.observation, lease ? toRecord(lease) : undefined, now);
    const action = decide(identity, this.observation, lease !== undefined, now);
    const durationSeconds = Math.max(1, Math.round(this.opts.leaseDurationMs / 1000));
    const nowTime = microTime(new Date());
    try {
      switch (action.kind) {
        case 'wait':
          return false;
        case 'create':
          await this.kube.create(leasePath(namespace), {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: durationSeconds,
              acquireTime: nowTime,
              renewTime: nowTime,
              leaseTransitions: 0,
            },
          });
          return true;
        case 'acquire':
        case 'renew': {
          const spec = lease!.spec ?? {};
          const body: k8s.V1Lease = {
            ...lease!,
            spec: {
              ...spec,
              holderIdentity: identity,
              leaseDurationSeconds: durationSeconds,
              renewTime: nowTime,
              ...(action.kind === 'acquire' ? { acquireTime: nowTime, leaseTransitions: action.transitions } : {}),
            },
          };
          const updated = await this.kube.replace<k8s.V1Lease>(leasePath(namespace, name), body);
          this.observation = observe(this.observation, toRecord(updated), now);
          return true;
        }
      }
    } catch (err) {
      if (apiStatus(err) === 409) return false; // another candidate won the race
      throw err;
    }
  }

  private async release(): Promise<void> {
    const { namespace, name, identity } = this.opts;
    try {
      const lease = await this.kube.get<k8s.V1Lease>(leasePath(namespace, name));
      if (lease.spec?.holderIdentity !== identity) return;
      await this.kube.replace(leasePath(namespace, name), { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date()) } });
      this.log.info({ lease: `${namespace}/${name}` }, 'released leadership');
    } catch (err) {
      this.log.warn({ lease: name, err: describeError(err) }, 'could not release the lease');
    }
  }
}

function leasePath(namespace: string, name?: string): string {
  return `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases${name ? `/${name}` : ''}`;
}

function toRecord(lease: k8s.V1Lease): LeaseRecord {
  const s = lease.spec ?? {};
  return {
    holder: s.holderIdentity ?? '',
    durationMs: (s.leaseDurationSeconds ?? 15) * 1000,
    renewTime: s.renewTime ? new Date(s.renewTime as unknown as string).toISOString() : '',
    transitions: s.leaseTransitions ?? 0,
  };
}
