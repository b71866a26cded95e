// This speaker's membership Lease: named after the node, in the speaker
// namespace, labelled app.kubernetes.io/component=speaker, renewed every
// renewIntervalMs and carrying the node's announce-capable subnets and
// whether its own view of the cluster is fresh (lease-annotations.ts). A
// change of either is published at once, not at the next tick: a cut link
// must move the IPs now. A clean stop deletes the
// Lease, so the other speakers take over without waiting for expiry.
//
// Default timings (renew 500 ms, leaseDurationSeconds 2) and the failover
// they give after kill -9 or node death: another speaker expires the dead
// Lease at the first freshness mark (its own renewal echoed back through the
// watch, every 500 ms) at or after "last renewal seen + 2 s". The last
// renewal was seen 0-500 ms before the death, so expiry comes 1.5-2.5 s
// after it, plus one API round trip and the election debounce; the first
// gratuitous ARP goes out right away. That keeps p99 under 3 s with margin
// for a renewal that arrives late. Shorter leases would fail over faster
// but flap a healthy node whose renewal is merely slow (leaseDurationSeconds
// is whole seconds: 1 s would leave a 500 ms margin).
//
// Every request carries a timeout (AbortSignal): a hung connection must not
// stall the heartbeat.

import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { performance } from 'node:perf_hooks';
import { apiStatus, describeError, microTime } from '../kube/client.ts';
import type { KubeClient } from '../kube/api/kube-client.ts';
import {
  ANNOUNCE_INTERFACES_ANNOTATION,
  ANNOUNCE_SUBNETS_ANNOTATION,
  SPEAKER_READY_ANNOTATION,
  SPEAKER_COMPONENT,
  SPEAKER_COMPONENT_LABEL,
} from './lease-annotations.ts';

export interface LeaseHeartbeatOptions {
  namespace: string;
  nodeName: string;
  /** Default 500. */
  renewIntervalMs: number;
  /** Written as spec.leaseDurationSeconds (whole seconds, at least 1). Default 2. */
  leaseDurationSeconds: number;
  /** Per request. Default: the renew interval, at least 1000. */
  requestTimeoutMs?: number;
}

export const DEFAULT_RENEW_INTERVAL_MS = 500;
export const DEFAULT_LEASE_DURATION_SECONDS = 2;

export interface LeaseHeartbeatHooks {
  /** A renewal (or the creation) sent at local time `sentAt` is stored as `resourceVersion`. */
  onRenewed?(resourceVersion: string, sentAt: number): void;
  /** A renewal failed (already logged, rate-limited). */
  onFailed?(err: unknown): void;
}

export class LeaseHeartbeat {
  readonly #kube: KubeClient;
  readonly #log: Logger;
  readonly #opts: Required<LeaseHeartbeatOptions>;
  readonly #hooks: LeaseHeartbeatHooks;
  /** The capability annotations (lease-annotations.ts); their text, to compare. */
  #capability: Record<string, string> = {};
  #capabilityText = '';
  #ready = 'true';
  #published: string | undefined;
  #publishedReady: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = true;
  #failingSince: number | undefined;
  #lastFailureLog = 0;
  #lastSuccessAt: number | undefined;
  #renewals = 0;

  constructor(kube: KubeClient, log: Logger, opts: LeaseHeartbeatOptions, hooks: LeaseHeartbeatHooks = {}) {
    this.#kube = kube;
    this.#log = log;
    const renewIntervalMs = opts.renewIntervalMs > 0 ? opts.renewIntervalMs : DEFAULT_RENEW_INTERVAL_MS;
    this.#opts = {
      ...opts,
      renewIntervalMs,
      leaseDurationSeconds: Math.max(1, Math.round(opts.leaseDurationSeconds)),
      requestTimeoutMs: opts.requestTimeoutMs ?? Math.max(1000, renewIntervalMs),
    };
    this.#hooks = hooks;
  }

  get leaseName(): string {
    return this.#opts.nodeName;
  }

  /** Local time of the last successful renewal. */
  get lastSuccessAt(): number | undefined {
    return this.#lastSuccessAt;
  }

  /** Successful renewals so far (tests, metrics). */
  get renewals(): number {
    return this.#renewals;
  }

  /** Sets the capability annotations (capabilityAnnotations()); published at once when they changed. */
  setCapability(annotations: Record<string, string>): void {
    const text = JSON.stringify(annotations);
    if (text === this.#capabilityText) return;
    this.#capability = annotations;
    this.#capabilityText = text;
    if (!this.#stopped && text !== this.#published) this.#renewSoon();
  }

  /** Sets the ready annotation (this speaker's view is fresh); published at once when it changed. */
  setReady(ready: boolean): void {
    const value = ready ? 'true' : 'false';
    if (value === this.#ready) return;
    this.#ready = value;
    if (!this.#stopped && value !== this.#publishedReady) this.#renewSoon();
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops renewing; with `release` (a clean stop) deletes the Lease. */
  async stop(release = true): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    if (!release) return;
    const { namespace, nodeName } = this.#opts;
    try {
      await this.#kube.delete(`${leasesPath(namespace)}/${nodeName}`, this.#opts.requestTimeoutMs * 2);
      this.#log.info({ lease: `${namespace}/${nodeName}` }, 'deleted speaker Lease: the other speakers take over now');
    } catch (err) {
      if (apiStatus(err) === 404) return;
      this.#log.warn(
        { lease: `${namespace}/${nodeName}`, err: describeError(err) },
        'could not delete the speaker Lease; the other speakers take over when it expires',
      );
    }
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#tick(), ms);
  }

  #renewSoon(): void {
    if (this.#running) this.#again = true;
    else this.#schedule(0);
  }

  #tick(): void {
    if (this.#stopped || this.#running) return;
    const started = performance.now();
    this.#running = this.#renew().finally(() => {
      this.#running = undefined;
      if (this.#stopped) return;
      if (this.#again) {
        this.#again = false;
        this.#schedule(0);
      } else {
        this.#schedule(Math.max(0, this.#opts.renewIntervalMs - (performance.now() - started)));
      }
    });
  }

  async #renew(): Promise<void> {
    const { namespace, nodeName, leaseDurationSeconds, requestTimeoutMs } = this.#opts;
    const capability = this.#capabilityText;
    const subnets = this.#capability[ANNOUNCE_SUBNETS_ANNOTATION] ?? '';
    const interfaces = this.#capability[ANNOUNCE_INTERFACES_ANNOTATION] ?? '';
    const ready = this.#ready;
    const annotations = { ...this.#capability, [SPEAKER_READY_ANNOTATION]: ready };
    const sentAt = performance.now();
    const now = microTime(new Date());
    try {
      let lease: k8s.V1Lease;
      try {
        lease = await this.#kube.mergePatch<k8s.V1Lease>(
          `${leasesPath(namespace)}/${nodeName}`,
          {
            metadata: {
              labels: { [SPEAKER_COMPONENT_LABEL]: SPEAKER_COMPONENT },
              annotations,
            },
            spec: { holderIdentity: nodeName, leaseDurationSeconds, renewTime: now },
          },
          requestTimeoutMs,
        );
      } catch (err) {
        if (apiStatus(err) !== 404) throw err;
        lease = await this.#kube.create<k8s.V1Lease>(
          leasesPath(namespace),
          {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: {
              name: nodeName,
              namespace,
              labels: { [SPEAKER_COMPONENT_LABEL]: SPEAKER_COMPONENT, 'app.kubernetes.io/name': 'metalgate' },
              annotations,
            },
            spec: { holderIdentity: nodeName, leaseDurationSeconds, acquireTime: now, renewTime: now },
          },
          requestTimeoutMs,
        );
        this.#log.info({ lease: `${namespace}/${nodeName}`, subnets }, 'created speaker Lease');
      }
      this.#renewals++;
      this.#lastSuccessAt = sentAt;
      if (this.#published !== capability) {
        this.#log.info({ lease: `${namespace}/${nodeName}`, subnets: subnets || '(none)', interfaces: interfaces || '(none)' }, 'published announce subnets');
      }
      this.#published = capability;
      this.#publishedReady = ready;
      if (this.#failingSince !== undefined) {
        this.#log.info({ downForMs: Math.round(sentAt - this.#failingSince) }, 'Lease renewals succeed again');
        this.#failingSince = undefined;
      }
      const rv = lease.metadata?.resourceVersion;
      if (rv) this.#hooks.onRenewed?.(rv, sentAt);
    } catch (err) {
      const first = this.#failingSince === undefined;
      this.#failingSince ??= sentAt;
      // The first failure, then one line every 10 s: an outage must not flood the log.
      if (first || sentAt - this.#lastFailureLog >= 10_000) {
        this.#lastFailureLog = sentAt;
        this.#log.warn(
          { lease: `${namespace}/${nodeName}`, err: describeError(err), failingForMs: Math.round(sentAt - this.#failingSince) },
          'Lease renewal failed; keeping what this node owns until the API server answers again',
        );
      }
      this.#hooks.onFailed?.(err);
    }
  }
}

function leasesPath(namespace: string): string {
  return `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`;
}
