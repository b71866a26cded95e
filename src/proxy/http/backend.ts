// A Backend over one Service port's endpoints (what EndpointSlices give):
// round-robin over the ready ones, optional ClientIP session affinity, and
// sticky-cookie keys. The endpoint list is replaced whole (setEndpoints), so a
// pick never sees half an update.

import { fnv1a32 } from '../../common/hash32.ts';
import type { Backend, BackendProtocol, BodyLimits, Endpoint, UpstreamTimeouts, UpstreamTls } from './types.ts';

export interface SessionAffinityOptions {
  /** kube's sessionAffinityConfig.clientIP.timeoutSeconds, in ms. Default 3 h. */
  readonly timeoutMs?: number;
  /** Bound on remembered clients (oldest forgotten first). Default 100 000. */
  readonly maxClients?: number;
}

export interface EndpointSetBackendOptions {
  readonly name: string;
  readonly protocol?: BackendProtocol;
  readonly timeouts?: Partial<UpstreamTimeouts>;
  readonly limits?: Partial<BodyLimits>;
  readonly tls?: UpstreamTls;
  /** `sessionAffinity: ClientIP`. */
  readonly clientIpAffinity?: SessionAffinityOptions;
  readonly endpoints?: readonly Endpoint[];
}

interface Remembered {
  /** endpointAffinityKey of the endpoint: survives setEndpoints with new objects. */
  key: string;
  expires: number;
}

const DEFAULT_AFFINITY_MS = 10_800_000;

/** FNV-1a 32 over "ip:port", hex: a stable cookie value that does not show the pod IP. */
export function endpointAffinityKey(endpoint: Endpoint): string {
  return fnv1a32(`${endpoint.ip}:${endpoint.port}`).toString(16).padStart(8, '0');
}

export class EndpointSetBackend implements Backend {
  readonly name: string;
  readonly protocol: BackendProtocol;
  readonly timeouts: Partial<UpstreamTimeouts> | undefined;
  readonly limits: Partial<BodyLimits> | undefined;
  readonly tls: UpstreamTls | undefined;

  private all: readonly Endpoint[] = [];
  private ready: readonly Endpoint[] = [];
  /**
   * The ready endpoints by affinity key, made at the first lookup after a
   * change: most backends never see a sticky cookie or ClientIP affinity,
   * and a Map per backend was a third of the Maps a proxy worker held for
   * 1,000 Services (about 300 B each, and a hash of every endpoint at each
   * change).
   */
  private keyed: Map<string, Endpoint> | undefined;
  private next = 0;
  private readonly affinityMs: number;
  private readonly affinityMax: number;
  private readonly clients: Map<string, Remembered> | undefined;

  constructor(opts: EndpointSetBackendOptions) {
    this.name = opts.name;
    this.protocol = opts.protocol ?? 'http';
    this.timeouts = opts.timeouts;
    this.limits = opts.limits;
    this.tls = opts.tls;
    const a = opts.clientIpAffinity;
    this.affinityMs = a?.timeoutMs ?? DEFAULT_AFFINITY_MS;
    this.affinityMax = a?.maxClients ?? 100_000;
    this.clients = a === undefined ? undefined : new Map();
    if (opts.endpoints) this.setEndpoints(opts.endpoints);
  }

  /** Every endpoint as last set (ready or not). */
  get endpoints(): readonly Endpoint[] {
    return this.all;
  }

  get readyCount(): number {
    return this.ready.length;
  }

  /**
   * Replaces the endpoint set. Only `ready` endpoints get new requests;
   * requests already sent to others (terminating) finish where they are.
   */
  setEndpoints(endpoints: readonly Endpoint[]): void {
    const ready = endpoints.filter((e) => e.ready);
    this.all = endpoints;
    this.ready = ready;
    this.keyed = undefined;
    if (this.next >= ready.length) this.next = 0;
  }

  pick(clientIp: string, affinityKey?: string): Endpoint | undefined {
    const ready = this.ready;
    const n = ready.length;
    if (n === 0) return undefined;
    if (affinityKey !== undefined) {
      const e = this.byKey().get(affinityKey);
      if (e !== undefined) return e;
    }
    if (this.clients !== undefined) return this.pickForClient(clientIp);
    return this.roundRobin(ready, n);
  }

  affinityKeyOf(endpoint: Endpoint): string {
    return endpointAffinityKey(endpoint);
  }

  readyEndpoints(): readonly Endpoint[] {
    return this.ready;
  }

  private byKey(): Map<string, Endpoint> {
    if (this.keyed === undefined) {
      this.keyed = new Map();
      for (const e of this.ready) this.keyed.set(endpointAffinityKey(e), e);
    }
    return this.keyed;
  }

  private roundRobin(ready: readonly Endpoint[], n: number): Endpoint {
    let i = this.next;
    if (i >= n) i = 0;
    this.next = i + 1;
    return ready[i]!;
  }

  private pickForClient(clientIp: string): Endpoint {
    const clients = this.clients!;
    const now = Date.now();
    const seen = clients.get(clientIp);
    if (seen !== undefined && seen.expires > now) {
      const still = this.byKey().get(seen.key);
      if (still !== undefined) {
        seen.expires = now + this.affinityMs;
        return still;
      }
    }
    const endpoint = this.roundRobin(this.ready, this.ready.length);
    if (seen !== undefined) {
      clients.delete(clientIp); // re-insert: Map order is then oldest-first
    } else if (clients.size >= this.affinityMax) {
      this.forgetClients(now);
    }
    clients.set(clientIp, { key: endpointAffinityKey(endpoint), expires: now + this.affinityMs });
    return endpoint;
  }

  /** Drops expired entries, and the oldest quarter if that was not enough. */
  private forgetClients(now: number): void {
    const clients = this.clients!;
    for (const [ip, r] of clients) if (r.expires <= now) clients.delete(ip);
    if (clients.size < this.affinityMax) return;
    let drop = Math.max(1, this.affinityMax >> 2);
    for (const ip of clients.keys()) {
      clients.delete(ip);
      if (--drop === 0) break;
    }
  }
}
