// The controller: Services of type LoadBalancer in, external IPs out.
//
// A thin adapter around the pure allocator. Allocation state lives in the
// Services' own status: on every start (and every time this replica becomes
// leader) the view is rebuilt from all statuses before any new IP is given,
// so a restart never moves an IP.
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Registry } from '../common/prom-classes.ts';
import { Allocator } from '../ipam/allocator.ts';
import { isOurs, toAllocationRequest } from '../ipam/service-request.ts';
import { describeError, objectKey, splitKey, type KubeClient } from '../kube/client.ts';
import { EventRecorder } from '../kube/events.ts';
import { startInformer, type ResilientInformer } from '../kube/informer.ts';
import { LeaderElector } from '../kube/leader-election.ts';
import { POOL_ANNOTATION } from '../kube/object-names.ts';
import { ControllerMetrics } from './metrics.ts';
import { PoolSources, type PoolChange } from './pool-sources.ts';
import { PoolStatusWriter } from './pool-status.ts';
import { WorkQueue } from './work-queue.ts';

const DEFAULT_CLASS = 'metalgate.io/metalgate';


export interface ControllerOptions {
  configNamespace: string;
  configName: string;
  configKey: string;
  /** Namespaces whose IPAddressPool objects are read (default: metallb-system, metalgate-system). */
  poolNamespaces?: readonly string[];
  /** Delay between IPAddressPool status writes (default 1 s). */
  poolStatusDelayMs?: number;
  /** Serve only Services whose loadBalancerClass is ours (clusters with several LBs). */
  ownClassOnly: boolean;
  className: string;
  /** status.loadBalancer.ingress[].ipMode: Proxy keeps kube-proxy from short-circuiting the IP. */
  ipMode: 'Proxy' | 'VIP';
  identity: string;
  leaseNamespace: string;
  leaseName: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Status writes in flight at once. */
  writeConcurrency: number;
}

export const defaultControllerOptions: Omit<ControllerOptions, 'identity'> = {
  configNamespace: 'metalgate-system',
  configName: 'config',
  configKey: 'config',
  ownClassOnly: false,
  className: DEFAULT_CLASS,
  ipMode: 'Proxy',
  leaseNamespace: 'metalgate-system',
  leaseName: 'metalgate-controller',
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  writeConcurrency: 32,
};

export class Controller {
  readonly registry: Registry;
  readonly metrics: ControllerMetrics;
  private readonly kc: KubeClient;
  private readonly log: Logger;
  private readonly opts: ControllerOptions;
  private readonly elector: LeaderElector;
  private session: LeaderSession | undefined;
  private stopping = false;

  constructor(kc: KubeClient, log: Logger, opts: ControllerOptions, registry = new Registry()) {
    this.kc = kc;
    this.log = log;
    this.opts = opts;
    this.registry = registry;
    this.metrics = new ControllerMetrics(registry);
    this.elector = new LeaderElector(kc, log, {
      namespace: opts.leaseNamespace,
      name: opts.leaseName,
      identity: opts.identity,
      leaseDurationMs: opts.leaseDurationMs,
      renewDeadlineMs: opts.renewDeadlineMs,
      retryPeriodMs: opts.retryPeriodMs,
      onStartedLeading: () => {
        if (this.stopping) return;
        this.metrics.leader.set(1);
        this.session = new LeaderSession(this.kc, this.log, this.opts, this.metrics);
        this.session.start();
      },
      onStoppedLeading: async () => {
        this.metrics.leader.set(0);
        const s = this.session;
        this.session = undefined;
        await s?.stop();
      },
    });
  }

  start(): void {
    this.log.info({ identity: this.opts.identity, config: `${this.opts.configNamespace}/${this.opts.configName}` }, 'controller starting');
    this.elector.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.elector.stop();
    await this.session?.stop();
    this.session = undefined;
  }

  isLeader(): boolean {
    return this.elector.isLeader();
  }

  /** Undefined when ready; a standby replica is ready (it is doing its job: waiting). */
  notReadyReason(): string | undefined {
    if (!this.elector.isLeader()) return undefined;
    if (!this.session) return 'starting';
    return this.session.notReadyReason();
  }
}

/** Everything that runs only while this replica leads. */
class LeaderSession {
  private readonly events: EventRecorder;
  private readonly allocator = new Allocator();
  private readonly queue: WorkQueue;
  private services!: ResilientInformer<k8s.V1Service>;
  private readonly sources: PoolSources;
  private readonly poolStatus: PoolStatusWriter;
  /** Keys that could not get an IP: retried whenever an IP frees or the config changes. */
  private readonly failed = new Set<string>();
  private restored = false;
  private stopped = false;
  private readonly log: Logger;
  private readonly opts: ControllerOptions;
  private readonly metrics: ControllerMetrics;
  private readonly kc: KubeClient;

  constructor(kc: KubeClient, log: Logger, opts: ControllerOptions, metrics: ControllerMetrics) {
    this.kc = kc;
    this.log = log;
    this.opts = opts;
    this.metrics = metrics;
    this.events = new EventRecorder(kc, log, 'metalgate-controller');
    this.sources = new PoolSources(kc, log, opts, this.events, metrics, (what) => this.onPoolsChanged(what));
    this.poolStatus = new PoolStatusWriter(kc, log, opts.poolStatusDelayMs);
    this.queue = new WorkQueue((key) => this.reconcile(key), opts.writeConcurrency, (key, err) => {
      this.log.warn({ service: key, err: describeError(err) }, 'status update failed; will retry');
    });
  }

  start(): void {
    this.sources.start();
    this.services = startInformer<k8s.V1Service>(this.kc, '/api/v1/services', undefined, this.log);
    void this.run();
  }

  private async run(): Promise<void> {
    // Every pool source is read before anything is allocated, so a Service
    // never gets an IP from a pool it would not have been given with all in view.
    await Promise.all([this.sources.synced(), this.services.synced()]);
    if (this.stopped) return;
    this.sources.follow();
    this.restoreFromStatus();
    this.restored = true;
    const onService = (svc: k8s.V1Service) => this.queue.add(objectKey(svc));
    this.services.on('add', onService);
    this.services.on('update', onService);
    this.services.on('delete', onService);
    // After a watch outage the informer relists: everything may have changed.
    this.services.onResync(() => this.enqueueAll());
    this.enqueueAll();
    this.log.info({ services: this.services.list().length }, 'controller synced; allocating');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.stop();
    this.poolStatus.stop();
    await Promise.all([this.services?.stop(), this.sources.stop()]);
    await this.queue.drain();
  }

  notReadyReason(): string | undefined {
    if (!this.restored) return 'caches not synced';
    return undefined;
  }

  private enqueueAll(): void {
    for (const svc of this.services.list()) this.queue.add(objectKey(svc));
    // Deleted while we were away: the allocator still holds them.
    for (const key of this.allocator.keys()) this.queue.add(key);
  }

  private onPoolsChanged(what: PoolChange): void {
    if (what === 'pools') {
      this.setPools(this.sources.pools());
      if (this.restored) this.enqueueAll();
    } else if (what === 'verdicts') {
      this.updatePoolMetrics();
    } else if (this.restored) {
      // New namespace labels may let a waiting Service into a pool; nothing held moves.
      this.retryFailed();
    }
  }

  private setPools(pools: Parameters<Allocator['setConfig']>[0]): void {
    const orphans = this.allocator.setConfig(pools);
    for (const o of orphans) {
      const svc = this.serviceByKey(o.key);
      this.log.warn({ service: o.key, ip: o.ip }, 'IP is no longer in any pool; the Service keeps it');
      if (svc) {
        this.events.emit(toTarget(svc), 'Warning', 'IPOutsidePools', `IP ${o.ip} is no longer in any address pool; the Service keeps it until it is deleted or its IP is changed`);
      }
    }
    this.updatePoolMetrics();
  }

  /** Claims every IP already written in a Service's status, oldest Service first. */
  private restoreFromStatus(): void {
    const services = [...this.services.list()].filter((s) => this.serves(s));
    services.sort(byCreation);
    let restored = 0;
    for (const svc of services) {
      const ips = statusIPs(svc);
      if (ips.length === 0) continue;
      const req = this.requestOf(svc);
      if (!req.ok) continue; // reconcile reports the request error
      const res = this.allocator.restore(req.request, ips);
      if (res.ok) restored++;
      else {
        this.log.warn({ service: objectKey(svc), ips, reason: res.reason }, 'could not keep the IP found in status');
      }
    }
    this.updatePoolMetrics();
    this.log.info({ restored }, 'allocation state rebuilt from Service status');
  }

  private requestOf(svc: k8s.V1Service): ReturnType<typeof toAllocationRequest> {
    return toAllocationRequest(svc, this.sources.namespaceLabels(svc.metadata?.namespace ?? 'default'));
  }

  private serves(svc: k8s.V1Service): boolean {
    return isOurs(svc, { ownClassOnly: this.opts.ownClassOnly, className: this.opts.className });
  }

  private serviceByKey(key: string): k8s.V1Service | undefined {
    const { namespace, name } = splitKey(key);
    return this.services.get(name, namespace);
  }

  /** Decides synchronously; returns the status write to do, if any. */
  private reconcile(key: string): (() => Promise<void>) | undefined {
    if (this.stopped) return undefined;
    const svc = this.serviceByKey(key);
    if (!svc || !this.serves(svc)) {
      const released = this.allocator.release(key);
      this.failed.delete(key);
      if (released.length > 0) {
        this.metrics.onRelease();
        this.log.info({ service: key, ips: released }, 'released IP');
        if (svc) this.events.emit(toTarget(svc), 'Normal', 'IPReleased', `released ${released.join(', ')}`);
        this.updatePoolMetrics();
        this.retryFailed();
      }
      if (svc && statusIPs(svc).length > 0 && released.length > 0) {
        return () => this.writeStatus(svc, []);
      }
      return undefined;
    }
    const req = this.requestOf(svc);
    if (!req.ok) {
      this.fail(svc, key, req.error);
      return undefined;
    }
    const before = this.allocator.assigned(key) ?? [];
    const res = this.allocator.allocate(req.request);
    if (!res.ok) {
      // A Service that had IPs and now asks for something impossible keeps
      // nothing stale: the allocator released what no longer satisfies it.
      const now = this.allocator.assigned(key) ?? [];
      this.fail(svc, key, res.reason);
      if (before.length > 0 && now.length === 0) {
        this.updatePoolMetrics();
        this.retryFailed();
      }
      if (!sameIPs(statusIPs(svc), now)) return () => this.writeStatus(svc, now);
      return undefined;
    }
    this.failed.delete(key);
    const changed = !sameIPs(before, res.ips);
    if (changed) {
      this.updatePoolMetrics();
      const pools = [...new Set(res.assignments.map((a) => a.pool ?? '(none)'))].join(', ');
      this.log.info({ service: key, ips: res.ips, pool: pools }, 'assigned IP');
      this.events.emit(toTarget(svc), 'Normal', 'IPAllocated', `assigned IP ${res.ips.join(', ')} from pool ${pools}`);
      for (const w of res.warnings) this.events.emit(toTarget(svc), 'Warning', 'AllocationWarning', w);
      if (before.length > 0) this.retryFailed();
    }
    const pool = res.assignments.find((a) => a.pool !== undefined)?.pool;
    const annotate = pool !== undefined && svc.metadata?.annotations?.[POOL_ANNOTATION] !== pool;
    const writeStatus = !sameIPs(statusIPs(svc), res.ips) || !hasIpMode(svc, this.opts.ipMode);
    if (!writeStatus && !annotate) return undefined;
    return async () => {
      if (writeStatus) await this.writeStatus(svc, res.ips);
      if (annotate) await this.writePoolAnnotation(svc, pool);
    };
  }

  private fail(svc: k8s.V1Service, key: string, reason: string): void {
    const first = !this.failed.has(key);
    this.failed.add(key);
    if (first) {
      this.metrics.allocationFailures.inc();
      this.log.warn({ service: key, reason }, 'allocation failed');
      this.events.emit(toTarget(svc), 'Warning', 'AllocationFailed', reason);
    }
  }

  private retryFailed(): void {
    for (const key of this.failed) this.queue.add(key);
  }

  private async writeStatus(svc: k8s.V1Service, ips: string[]): Promise<void> {
    const { namespace, name } = splitKey(objectKey(svc));
    const ingress = ips.map((ip) => ({ ip, ipMode: this.opts.ipMode }));
    await this.kc.mergePatch(`/api/v1/namespaces/${namespace}/services/${name}/status`, { status: { loadBalancer: { ingress } } });
  }

  private async writePoolAnnotation(svc: k8s.V1Service, pool: string): Promise<void> {
    const { namespace, name } = splitKey(objectKey(svc));
    await this.kc.mergePatch(`/api/v1/namespaces/${namespace}/services/${name}`, { metadata: { annotations: { [POOL_ANNOTATION]: pool } } });
  }

  private updatePoolMetrics(): void {
    this.metrics.setPoolStats(this.allocator.stats());
    if (this.sources.readsPoolObjects) this.poolStatus.update(this.sources.verdicts(), () => this.allocator.stats());
  }
}

function statusIPs(svc: k8s.V1Service): string[] {
  return (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => !!ip);
}

function hasIpMode(svc: k8s.V1Service, mode: string): boolean {
  return (svc.status?.loadBalancer?.ingress ?? []).every((i) => i.ipMode === mode);
}

function sameIPs(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((ip, i) => ip === b[i]);
}

function byCreation(a: k8s.V1Service, b: k8s.V1Service): number {
  const ta = a.metadata?.creationTimestamp ? new Date(a.metadata.creationTimestamp).getTime() : 0;
  const tb = b.metadata?.creationTimestamp ? new Date(b.metadata.creationTimestamp).getTime() : 0;
  if (ta !== tb) return ta - tb;
  const ka = objectKey(a);
  const kb = objectKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function toTarget(svc: k8s.V1Service) {
  return { apiVersion: 'v1', kind: 'Service', metadata: svc.metadata };
}
