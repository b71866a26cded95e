// The speaker: decides which node announces each load-balancer IP and, on
// the owner, brings the IP up and announces it. A thin adapter around the
// pure cores:
//
//   Leases ──> Membership (who is alive, frozen while the API is away)
//   Nodes, Lease annotations, Services, EndpointSlices,
//   IPAddressPools + L2Advertisements (L2Policy) ──> OwnerElection
//   election ──> diffOwnership ──> VipHolder (netlink) + Announcer (ARP/NDP)
//
// Every speaker computes the same election from the same objects, so nothing
// is negotiated. Nothing is acted on before the caches and the membership
// are synced. While the API server is unreachable the membership freezes and
// this node keeps what it owns; if, while frozen, another MAC claims one of
// our IPs, the others have evidently moved on without us: we give that IP up
// until we see the API again (the kube-vip failure - dropping a VIP because a
// renewal timed out - cannot happen, and a cut-off node does not fight).
// Nor does a node whose cable comes back, after longer than a Lease lasts,
// while it still cannot reach the API server: it gives up the IPs of that
// interface rather than announce them from a view it knows is stale.
// With a fresh view it does defend against a host that is not a speaker: a
// foreign claim still standing a second later gets one announcement. And
// when a speaker leaves the membership this node announces what it holds
// once more (the one that left may have been answering for some of it).
//
// Speaker and proxy share one process: the proxy listens on the
// owned IPs, which live on the holder device, and follows the 'ownership'
// events below (gained after the IP is on the device, lost before it goes).

import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as k8s from '@kubernetes/client-node';
import type { KubeClient } from '../kube/api/kube-client.ts';
import type { Logger } from 'pino';
import { Registry } from '../common/prom-classes.ts';
import { METALGATE_CLASS } from '../ipam/service-request.ts';
import { EventRecorder } from '../kube/events.ts';
import type { ResilientInformer } from '../kube/informer.ts';
import { SharedInformers, subscribe } from '../kube/shared-informers.ts';
import { watchLinksAndAddresses } from '../netlink/link-watch.ts';
import { Rtnl } from '../netlink/rtnl.ts';
import type { AnnounceScheduleOptions } from './announce-schedule.ts';
import { interfaceForIp, sameAnnouncePlan, surveyInterfaces, type InterfaceSurvey } from './announce-interfaces.ts';
import { Announcer, type AnnouncerOptions } from './announcer.ts';
import type { ConflictEvent } from './conflicts.ts';
import { nodeExclusionReason, OwnerElection, type ElectionInput, type ElectionNode, type Ownership } from './election.ts';
import {
  ANNOUNCE_MACS_ANNOTATION,
  capabilityAnnotations,
  capabilityFields,
  decodeAnnounceMacs,
  SPEAKER_READY_ANNOTATION,
  SPEAKER_LEASE_SELECTOR,
  type AnnounceCapability,
} from './lease-annotations.ts';
import { kernelCommands } from '../proxy/kernel/kernel-commands.ts';
import { peerMacFor } from './handover-forward.ts';
import { HandoverForwarder } from './handover-forwarder.ts';
import { L2Policy } from './l2-policy.ts';
import { ServiceL2StatusWriter, type L2StatusEntry } from './l2-status.ts';
import { DEFAULT_LEASE_DURATION_SECONDS, DEFAULT_RENEW_INTERVAL_MS, LeaseHeartbeat } from './lease-heartbeat.ts';
import { leaseObservationFromV1, Membership, type MembershipOptions } from './membership.ts';
import { SpeakerMetrics } from './metrics.ts';
import { OwnLeaseEcho } from './own-lease-echo.ts';
import { diffOwnership, type OwnerChange } from './ownership-diff.ts';
import { serviceKeyOf } from '../kube/object-names.ts';
import { buildDemand, type ServiceRef } from './service-demand.ts';
import { DEFAULT_HOLDER_DEVICE, VipHolder } from './vip-holder.ts';

/** A foreign claim of a held IP is a conflict if the IP is still held this much later (else a handover). */
const CONFLICT_CONFIRM_MS = 1000;

/**
 * How long a takeover's announcement waits for its handover forwarding to be
 * in: past this it is announced anyway and the chain lands a little later.
 * Measured: one forward's `nft -f` took 32 ms at the median and 57 ms at
 * most over 30 runs on a busy 2-core machine; a busy node's nft once took
 * 1.3 s for the kernel-forwarding rules, and with 300 ms here a connection
 * held across a clean stop was reset once in a loaded test run. Waiting
 * costs little: the previous owner lingers and serves every client whose
 * ARP/NDP entry still points at it; only a client resolving the IP afresh
 * waits, as for a lost ARP reply.
 */
const FORWARD_WAIT_MS = 1000;

/** How long an IP must stay without an owner, for the same reason, before it is reported. */
const NO_OWNER_REPORT_DELAY_MS = 3000;

export interface SpeakerOptions {
  /** This node (NODE_NAME); also the name of this speaker's Lease. */
  nodeName: string;
  /** Namespace of the speakers' Leases. */
  namespace: string;
  /** Serve only Services of our loadBalancerClass (the controller's filter). */
  ownClassOnly: boolean;
  className: string;
  renewIntervalMs: number;
  leaseDurationSeconds: number;
  /** Link that carries the owned IPs. */
  holderDevice: string;
  /** Announce every IP on this interface (instead of the one whose subnet contains it). */
  interface: string | undefined;
  /**
   * false: no netlink, no packet sockets - only the Lease, the election and
   * the events (API-level tests, and running several speakers in one process).
   */
  dataplane: boolean;
  /** Without the dataplane: what the Lease publishes. Default: any IP. */
  staticCapability?: AnnounceCapability;
  announce?: Partial<AnnounceScheduleOptions>;
  membership?: Partial<MembershipOptions>;
  /** Extra announcer settings (tests inject packet transports). */
  announcer?: Omit<AnnouncerOptions, 'schedule'>;
  /** Coalesces bursts of watch events into one election. */
  debounceMs: number;
  /** Namespaces whose IPAddressPool and L2Advertisement objects count (default: metallb-system, metalgate-system). */
  poolNamespaces?: readonly string[];
  /** How often to look for the metallb.io CRDs while they are missing. */
  crdRetryMs?: number;
  /**
   * On a clean stop, after the Lease is deleted and announcing stopped, the
   * IPs stay on the holder this long, so packets still sent here before the
   * neighbours learn the new owner's MAC are served rather than dropped.
   * It must outlast the new owner's way to its first announcement: seeing
   * the Lease change, then its gates (workers listening, kernel rules: up to
   * 500 ms). Measured on the two-node kubelet cluster: 190-290 ms on an idle
   * machine, so 0.5 s left 210-310 ms of margin, which a busy machine ate
   * (probes lost in a rolling update); 2 s leaves it 1.7 s.
   */
  stopLingerMs: number;
  /**
   * On a takeover from a speaker that lingers (handover-forward.ts), send it
   * the packets of its connections for stopLingerMs. Needs the dataplane and
   * nft; default true.
   */
  handoverForward?: boolean;
}

export const defaultSpeakerOptions: Omit<SpeakerOptions, 'nodeName'> = {
  namespace: 'metalgate-system',
  ownClassOnly: false,
  className: METALGATE_CLASS,
  renewIntervalMs: DEFAULT_RENEW_INTERVAL_MS,
  leaseDurationSeconds: DEFAULT_LEASE_DURATION_SECONDS,
  holderDevice: DEFAULT_HOLDER_DEVICE,
  interface: undefined,
  dataplane: true,
  debounceMs: 5,
  stopLingerMs: 2000,
};

/**
 * What the proxy follows: an IP this node now serves (emitted once the IP is
 * on the holder device, so it can be bound), or no longer serves (emitted
 * before the IP leaves the device). `owned: true` repeats for a held IP
 * whose Services change (another Service starts sharing it, say).
 */
export interface OwnershipChange {
  ip: string;
  owned: boolean;
  services: ServiceRef[];
}

export interface SpeakerEvents {
  ownership: [change: OwnershipChange];
}

/** Membership timings that fit the heartbeat (see membership.ts for their meaning). */
function membershipTimings(renewIntervalMs: number, leaseDurationSeconds: number): MembershipOptions {
  const durationMs = Math.max(1, leaseDurationSeconds) * 1000;
  return {
    defaultLeaseDurationMs: durationMs,
    // Between the renew interval and the lease duration.
    staleAfterMs: Math.max(renewIntervalMs + 1, Math.min(3 * renewIntervalMs, Math.round(0.75 * durationMs))),
    recoveryGraceMs: 3 * durationMs,
  };
}

export class Speaker extends EventEmitter<SpeakerEvents> {
  readonly registry: Registry;
  readonly metrics: SpeakerMetrics;
  readonly #kc: KubeClient;
  readonly #log: Logger;
  readonly #opts: SpeakerOptions;
  readonly #membership: Membership;
  readonly #election = new OwnerElection();
  readonly #echo = new OwnLeaseEcho();
  readonly #heartbeat: LeaseHeartbeat;
  readonly #events: EventRecorder;
  readonly #view: SharedInformers;
  readonly #ownView: boolean;
  readonly #l2: L2Policy;
  readonly #l2Status: ServiceL2StatusWriter;
  /** The live speakers, on the one speaker that removes ServiceL2Status objects of nodes gone. */
  #statusLive: ReadonlySet<string> | undefined;
  #l2Settled = false;
  /**
   * Bumped by every change an election reads besides the live speakers and
   * their Leases: Services, EndpointSlices, Nodes, L2 rules, what this node
   * holds, withholds and announces on. An election with the same inputs
   * gives the same result, and the speaker asks for one at every renewal
   * echo and every second (for Leases that expire): with 1,000 Services,
   * electing them all again took 6.8% of a core at rest, and its garbage
   * kept the thread from ever being quiet enough to reclaim its heap.
   */
  #inputRevision = 0;
  /** What the last full election was computed from. */
  #lastInputs: { live: ReadonlySet<string>; frozen: boolean; revision: number; nodes: string } | undefined;
  #unsubscribe: Array<() => void> = [];
  #leases?: ResilientInformer<k8s.V1Lease>;
  #nodes?: ResilientInformer<k8s.V1Node>;
  #services?: ResilientInformer<k8s.V1Service>;
  #slices?: ResilientInformer<k8s.V1EndpointSlice>;
  #leaseListStartedAt = 0;

  #rtnl?: Rtnl;
  #holder?: VipHolder;
  #announcer?: Announcer;
  #survey?: InterfaceSurvey;
  #stopLinkWatch?: () => void;
  #linkTimer: NodeJS.Timeout | undefined;
  #linkRefresh: Promise<void> | undefined;
  #linkAgain = false;
  /** Announce interfaces that left the survey (no carrier, down, gone), and when. */
  readonly #interfaceGoneAt = new Map<string, number>();

  /** The latest election. */
  #result: Map<string, Ownership> | undefined;
  #servicesByIp = new Map<string, ServiceRef[]>();
  /** Interfaces an L2Advertisement allows this node for each IP it owns (absent: any). */
  #namedByIp = new Map<string, ReadonlySet<string>>();
  /** What the election gives us (minus withheld IPs). */
  #desired = new Set<string>();
  /** What is on the holder and announced: IP -> Services. */
  readonly #held = new Map<string, ServiceRef[]>();
  /** Given up after a conflict while cut off from the API; cleared when the view is fresh again. */
  readonly #withheld = new Set<string>();
  /** IPs without an owner: the reason, since when, and whether it was reported. */
  readonly #noOwner = new Map<string, { message: string; since: number; reported: boolean }>();
  #frozen = false;
  /** The live set of the previous election. */
  #lastLive: ReadonlySet<string> = new Set();
  /** Speakers seen to expire (not deleted): eligible again once their Lease says ready. */
  readonly #rejoining = new Set<string>();
  /** "ip mac" of conflicts reported, so that only those get a resolution Event. */
  readonly #reportedConflicts = new Set<string>();

  #debounce: NodeJS.Timeout | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #applying: Promise<void> | undefined;
  #applyAgain = false;
  #announceGate: ((ip: string) => Promise<void>) | undefined;
  /** Held, and waiting for its workers' listeners or its forwarding to the previous owner: not announced yet, whatever else happens meanwhile. */
  readonly #gated = new Set<string>();
  #forwarder?: HandoverForwarder;
  /** Speakers whose Lease was deleted (a clean stop: they linger), with their last annotations. */
  readonly #departed = new Map<string, { annotations: Readonly<Record<string, string>>; at: number }>();
  /** IPs elected to us and not taken yet -> their previous owner. */
  readonly #takenFrom = new Map<string, string>();
  /** Handed over to another node, still on the holder until the timer fires (#handOver). */
  readonly #lingering = new Map<string, { timer: NodeJS.Timeout; services: ServiceRef[] }>();
  #started = false;
  #stopping = false;

  /**
   * `view`: the node's shared informers (the proxy and the ingress read the
   * same ones); without it the speaker keeps its own and stops them itself.
   */
  constructor(kc: KubeClient, log: Logger, opts: SpeakerOptions, registry = new Registry(), view?: SharedInformers) {
    super();
    if (!opts.nodeName) throw new Error('speaker: the node name is required (NODE_NAME)');
    this.#kc = kc;
    this.#view = view ?? new SharedInformers(kc, log);
    this.#ownView = view === undefined;
    this.#log = log;
    this.#opts = opts;
    this.registry = registry;
    this.metrics = new SpeakerMetrics(registry);
    this.#membership = new Membership({
      ...membershipTimings(opts.renewIntervalMs, opts.leaseDurationSeconds),
      ...opts.membership,
    });
    this.#events = new EventRecorder(kc, log, 'metalgate-speaker', opts.nodeName);
    this.#l2 = new L2Policy(kc, log, this.#view, {
      ...(opts.poolNamespaces ? { namespaces: opts.poolNamespaces } : {}),
      ...(opts.crdRetryMs !== undefined ? { crdRetryMs: opts.crdRetryMs } : {}),
    });
    this.#l2Status = new ServiceL2StatusWriter(kc, log, { namespace: opts.namespace, nodeName: opts.nodeName, ...(opts.crdRetryMs !== undefined ? { retryMs: opts.crdRetryMs } : {}) });
    this.#heartbeat = new LeaseHeartbeat(
      kc,
      log,
      {
        namespace: opts.namespace,
        nodeName: opts.nodeName,
        renewIntervalMs: opts.renewIntervalMs,
        leaseDurationSeconds: opts.leaseDurationSeconds,
      },
      {
        onRenewed: (rv, sentAt) => {
          this.metrics.leaseRenewals.inc({ result: 'ok' });
          const at = this.#echo.renewed(rv, sentAt);
          if (at !== undefined) this.#markFresh(at);
        },
        onFailed: () => this.metrics.leaseRenewals.inc({ result: 'error' }),
      },
    );
  }

  get nodeName(): string {
    return this.#opts.nodeName;
  }

  /** IPs on the holder and announced by this node, sorted. */
  ownedIps(): string[] {
    return [...this.#held.keys()].sort();
  }

  /** What this node serves now: IP -> the Services on it (a snapshot for a late subscriber). */
  ownership(): Map<string, readonly ServiceRef[]> {
    return new Map(this.#held);
  }

  /** The latest election: IP -> owner node (undefined: nobody may announce it). */
  owners(): Map<string, string | undefined> {
    const out = new Map<string, string | undefined>();
    for (const [ip, o] of this.#result ?? []) out.set(ip, o.owner);
    return out;
  }

  /** Speakers this node considers alive. */
  liveSpeakers(): string[] {
    return [...this.#membership.view(performance.now()).live].sort();
  }

  /** Undefined when ready; otherwise what it is waiting for. */
  notReadyReason(): string | undefined {
    if (!this.#started) return 'not started';
    const pending = [this.#leases, this.#nodes, this.#services, this.#slices].filter((i) => !i?.isSynced()).map((i) => i?.resource);
    pending.push(...this.#l2.pending());
    if (!this.#l2Settled && pending.length === 0) pending.push('metallb.io CRDs (looking for them)');
    if (pending.length > 0) return `caches not synced: ${pending.join(', ')}`;
    if (!this.#membership.view(performance.now()).synced) return 'membership not synced (speaker Leases not listed yet)';
    return undefined;
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const o = this.#opts;
    this.#log.info(
      {
        node: o.nodeName,
        namespace: o.namespace,
        dataplane: o.dataplane,
        holderDevice: o.dataplane ? o.holderDevice : undefined,
        interface: o.interface,
        renewIntervalMs: o.renewIntervalMs,
        leaseDurationSeconds: o.leaseDurationSeconds,
      },
      'speaker starting',
    );
    if (o.dataplane) await this.#startDataplane();
    else this.#heartbeat.setCapability(capabilityAnnotations(o.staticCapability ?? { subnets: [], anyIp: true }));
    this.#startInformers();
    this.#l2.start(() => this.#inputsChanged());
    void this.#l2.settled().then(() => {
      this.#l2Settled = true;
      this.#schedule();
    });
    // The first renewal waits for the caches: the Lease is what makes the
    // others hand IPs over, so this node must be able to take them at once.
    // (A restarted speaker's old Lease stays as it was until then.)
    const informers = [this.#leases!, this.#nodes!, this.#services!, this.#slices!];
    void Promise.all([...informers.map((i) => i.synced()), this.#l2.settled()]).then(() => {
      if (this.#stopping) return;
      this.#heartbeat.start();
      // Shared caches may have synced before this subscribed: look once now.
      this.#schedule();
    });
    this.#ticker = setInterval(() => this.#schedule(), 1000);
  }

  /**
   * A clean stop: the Lease is deleted (the others take over at once),
   * announcing stops, and after stopLingerMs the IPs leave the holder.
   * `{ clean: false }` simulates a crash for tests: nothing is released.
   */
  async stop(options: { clean?: boolean } = {}): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    const clean = options.clean ?? true;
    clearInterval(this.#ticker);
    clearTimeout(this.#debounce);
    clearTimeout(this.#linkTimer);
    this.#stopLinkWatch?.();
    await this.#heartbeat.stop(clean);
    await this.#applying;
    await this.#linkRefresh;
    const lingering = [...this.#lingering].map(([ip, l]) => (clearTimeout(l.timer), { ip, services: l.services }));
    this.#lingering.clear();
    if (clean) {
      for (const ip of this.#held.keys()) this.#announcer?.release(ip);
      if (this.#held.size + lingering.length > 0 && this.#opts.dataplane && this.#opts.stopLingerMs > 0) await sleep(this.#opts.stopLingerMs);
      for (const ip of [...this.#held.keys()]) await this.#release(ip, 'speaker stopping');
      for (const l of lingering) await this.#unhold(l.ip, l.services, 'speaker stopping');
      this.#log.info({ node: this.#opts.nodeName }, 'speaker stopped cleanly');
    }
    await this.#forwarder?.closeAll();
    await this.#l2Status.stop(clean);
    this.#announcer?.close();
    this.#rtnl?.close();
    this.#l2.stop();
    for (const off of this.#unsubscribe.splice(0)) off();
    if (this.#ownView) await this.#view.stop();
  }

  // ---- dataplane: holder device, interfaces, announcer ----

  async #startDataplane(): Promise<void> {
    const o = this.#opts;
    this.#rtnl = new Rtnl();
    this.#holder = new VipHolder(this.#rtnl, this.#log, o.holderDevice);
    await this.#holder.ensure();
    await this.#holder.flush();
    if (o.handoverForward !== false && o.stopLingerMs > 0) {
      this.#forwarder = new HandoverForwarder(kernelCommands(), this.#log);
      await this.#forwarder.reset();
    }
    this.#announcer = new Announcer(
      this.#log,
      this.metrics,
      { ...o.announcer, schedule: o.announce },
      { onConflict: (event) => this.#onConflict(event) },
    );
    await this.#refreshInterfaces();
    this.#stopLinkWatch = watchLinksAndAddresses(
      () => this.#linksChanged(),
      (err) => this.#log.warn({ err: err.message }, 'netlink monitor error'),
    );
  }

  /** Coalesces netlink notifications (adding an IP to the holder makes some too). */
  #linksChanged(): void {
    if (this.#stopping || this.#linkTimer) return;
    this.#linkTimer = setTimeout(() => {
      this.#linkTimer = undefined;
      if (this.#linkRefresh) {
        this.#linkAgain = true;
        return;
      }
      this.#linkRefresh = this.#refreshLoop().finally(() => (this.#linkRefresh = undefined));
    }, 20);
  }

  async #refreshLoop(): Promise<void> {
    do {
      this.#linkAgain = false;
      await this.#refreshInterfaces().catch((err: unknown) =>
        this.#log.warn({ err: (err as Error).message }, 'could not read links and addresses'),
      );
    } while (this.#linkAgain && !this.#stopping);
  }

  async #refreshInterfaces(): Promise<void> {
    const rtnl = this.#rtnl!;
    const [links, addresses] = await Promise.all([rtnl.links(), rtnl.addresses()]);
    if (this.#stopping) return;
    if (!links.some((l) => l.name === this.#opts.holderDevice) && this.#held.size > 0) {
      // Someone deleted the holder device: recreate it and put the IPs back.
      this.#log.warn({ device: this.#opts.holderDevice }, 'holder device disappeared; recreating it');
      await this.#holder!.ensure();
      for (const ip of this.#held.keys()) await this.#holder!.add(ip);
    }
    const survey = surveyInterfaces(links, addresses, { holderDevice: this.#opts.holderDevice, pinned: this.#opts.interface });
    if (this.#survey && sameAnnouncePlan(this.#survey, survey)) return;
    this.#withholdAfterLongAbsence(this.#survey, survey);
    this.#survey = survey;
    this.#inputsChanged();
    this.#log.info(
      {
        interfaces: survey.interfaces.map((i) => ({ name: i.name, mac: i.mac, subnets: i.subnets })),
        skipped: survey.skipped.filter((s) => s.reason !== 'not Ethernet (LOOPBACK)' && s.reason !== 'holder device'),
        anyIp: survey.anyIp,
      },
      survey.interfaces.length > 0 ? 'announce interfaces' : 'no interface can announce: this node is not eligible for any IP',
    );
    this.#announcer!.setSurvey(survey);
    this.#heartbeat.setCapability(
      capabilityAnnotations(
        { ...survey, interfaces: survey.interfaces.map((i) => i.name) },
        survey.interfaces.map((i) => ({ name: i.name, mac: i.mac, subnets: i.subnets })),
      ),
    );
  }

  /**
   * An interface back after longer than a Lease lasts, while this node is
   * cut off from the API server: the others saw this node's Lease expire and
   * took its IPs meanwhile, and this node cannot know better until it hears
   * from the API again. Its IPs on that interface are given up now, before
   * the announcer re-places them (which would start a takeover burst and pull
   * the neighbours back to a node whose view is stale); the election gives
   * them back once the view is fresh.
   */
  #withholdAfterLongAbsence(before: InterfaceSurvey | undefined, after: InterfaceSurvey): void {
    const now = performance.now();
    const had = new Set(before?.interfaces.map((i) => i.name));
    const has = new Set(after.interfaces.map((i) => i.name));
    for (const name of had) if (!has.has(name)) this.#interfaceGoneAt.set(name, now);
    const longGone = new Set<string>();
    for (const name of has) {
      const goneAt = this.#interfaceGoneAt.get(name);
      if (goneAt === undefined) continue;
      this.#interfaceGoneAt.delete(name);
      if (now - goneAt >= this.#opts.leaseDurationSeconds * 1000) longGone.add(name);
    }
    if (longGone.size === 0 || !this.#membership.view(now).frozen) return;
    for (const ip of this.#held.keys()) {
      const iface = interfaceForIp(ip, after, this.#namedByIp.get(ip));
      if (iface === undefined || !longGone.has(iface.name)) continue;
      this.#announcer?.release(ip);
      this.#giveUp(ip, undefined, `interface ${iface.name} is back after longer than a Lease lasts, while this node is cut off from the API server: the others have taken this IP, giving it up until the API answers`);
    }
  }

  // ---- Kubernetes side ----

  #startInformers(): void {
    const view = this.#view;
    const ns = this.#opts.namespace;
    // Quick retries for the Leases: after an outage the membership stays
    // frozen until this watch is back.
    this.#leases = view.informer<k8s.V1Lease>(
      `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`,
      () => {
        this.#leaseListStartedAt = performance.now();
        return this.#kc.list<k8s.V1Lease>(`/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`, { labelSelector: SPEAKER_LEASE_SELECTOR });
      },
      { labelSelector: SPEAKER_LEASE_SELECTOR, minBackoffMs: 100, maxBackoffMs: 1000 },
    );
    this.#nodes = view.nodes();
    this.#services = view.services();
    this.#slices = view.endpointSlices();

    const onLease = (lease: k8s.V1Lease) => {
      const obs = leaseObservationFromV1(lease);
      if (!obs) return;
      this.#membership.observe(obs, performance.now());
      if (obs.name === this.#opts.nodeName && lease.metadata?.resourceVersion) {
        const at = this.#echo.echoed(lease.metadata.resourceVersion);
        if (at !== undefined) this.#markFresh(at);
      }
      this.#schedule();
    };
    this.#unsubscribe.push(
      subscribe(this.#leases, {
        add: onLease,
        update: onLease,
        delete: (lease) => {
          const name = lease.metadata?.name;
          if (!name) return;
          this.#membership.remove(name);
          this.#rejoining.delete(name);
          this.#departed.set(name, { annotations: { ...lease.metadata?.annotations }, at: performance.now() });
          if (name !== this.#opts.nodeName) this.#log.info({ node: name }, 'speaker Lease deleted: that speaker stopped cleanly');
          this.#schedule();
        },
        // A completed (re)list has delivered every change made before it started.
        resync: () => this.#markFresh(this.#leaseListStartedAt),
      }),
    );

    const changed = () => this.#inputsChanged();
    for (const informer of [this.#nodes, this.#services, this.#slices] as Array<ResilientInformer<k8s.KubernetesObject>>) {
      this.#unsubscribe.push(subscribe(informer, { add: changed, update: changed, delete: changed, resync: changed }));
    }
  }

  /** Something an election reads changed (see #inputRevision): elect again. */
  #inputsChanged(): void {
    this.#inputRevision++;
    this.#schedule();
  }

  #markFresh(asOf: number): void {
    this.#membership.markFresh(asOf);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopping || this.#debounce) return;
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      try {
        this.#elect();
      } catch (err) {
        this.#log.error({ err: (err as Error).stack }, 'election failed');
      }
    }, this.#opts.debounceMs);
  }

  // ---- election and its application ----

  #elect(): void {
    if (this.#stopping) return;
    const informers = [this.#leases, this.#nodes, this.#services, this.#slices];
    if (!informers.every((i) => i?.isSynced()) || !this.#l2Settled) return;
    const now = performance.now();
    const view = this.#membership.view(now);
    this.metrics.liveSpeakers.set(view.live.size);
    this.metrics.membershipFrozen.set(view.frozen ? 1 : 0);
    if (!view.synced) return;
    if (view.frozen !== this.#frozen) {
      this.#frozen = view.frozen;
      if (view.frozen) {
        this.#log.warn(
          { live: [...view.live], owned: this.ownedIps() },
          'speaker Leases are stale (API server unreachable?): membership frozen, keeping every owned IP',
        );
      } else {
        this.#log.info({ live: [...view.live] }, 'speaker Leases are fresh again: membership follows the cluster');
      }
    }
    this.#heartbeat.setReady(!view.frozen);
    if (view.live !== this.#lastLive) {
      const left = [...this.#lastLive].filter((n) => !view.live.has(n));
      const joined = [...view.live].filter((n) => !this.#lastLive.has(n));
      // Who the election counts is what moves IPs: every change is worth a line.
      this.#log.info({ live: [...view.live].sort(), joined, left, frozen: view.frozen }, 'speaker membership changed');
      for (const name of left) if (this.#leases!.get(name, this.#opts.namespace)) this.#rejoining.add(name);
      // A speaker that left may have been announcing some of our IPs too (a
      // split nobody saw through the API): neighbours that followed it learn
      // our MAC now, not at the next refresh (up to 10 s of lost requests).
      if (left.length > 0 && !view.frozen) this.#announcer?.announceNow(this.#held.keys(), 'peer-left');
    }
    this.#lastLive = view.live;
    if (!view.frozen && this.#withheld.size > 0) {
      this.#log.info({ ips: [...this.#withheld] }, 'API server reachable again: given-up IPs follow the election again');
      this.#withheld.clear();
      this.#inputRevision++;
    }
    // A claim seen since we last heard from the API server, but before we
    // knew we were cut off, counts too: it is reported once a minute at most,
    // so waiting for the next report would hold the IP against its new owner.
    if (view.frozen && view.freshAsOfMs !== undefined) {
      for (const ip of this.#held.keys()) {
        const claimed = this.#announcer?.lastForeignClaimMs(ip);
        if (claimed !== undefined && claimed > view.freshAsOfMs) this.#giveUp(ip, undefined);
      }
    }

    const nodes = this.#electionNodes(view.live);
    const inputs = { live: view.live, frozen: view.frozen, revision: this.#inputRevision, nodes: JSON.stringify(nodes) };
    const last = this.#lastInputs;
    const same = last !== undefined && last.live === inputs.live && last.frozen === inputs.frozen && last.revision === inputs.revision && last.nodes === inputs.nodes;
    // An IP nobody may announce is reported once the reason has held a while: time is an input until then.
    if (same && !this.#noOwnerReportPending()) {
      this.metrics.elections.inc({ outcome: 'unchanged' });
      return;
    }
    this.metrics.elections.inc({ outcome: 'computed' });

    const self = this.#opts.nodeName;
    const reporter = [...view.live].sort()[0] === self;
    const { rules, problems } = this.#l2.rules(this.#nodes!.list().map((n) => ({ name: n.metadata?.name ?? '', labels: n.metadata?.labels })));
    if (reporter) for (const p of problems) this.#events.emit({ ...p.object, kind: 'L2Advertisement' }, 'Warning', 'L2AdvertisementInvalid', p.message);
    const demand = buildDemand(
      this.#services!.list(),
      this.#slices!.list(),
      { ownClassOnly: this.#opts.ownClassOnly, className: this.#opts.className },
      rules.active ? (ip, pool) => rules.forIp(ip, pool) : undefined,
    );
    const result = this.#election.elect({ live: view.live, nodes, ips: demand.ips });
    const named = new Map<string, ReadonlySet<string>>();
    for (const d of demand.ips) {
      const allowed = d.rule?.nodes.get(self);
      if (allowed !== undefined) named.set(d.ip, allowed);
    }
    this.#namedByIp = named;
    const diff = diffOwnership(self, new Set(this.#held.keys()), result, this.#result, this.#withheld);
    const previous = this.#result;
    this.#notePreviousOwners(diff.gained, previous, { live: view.live, nodes, ips: demand.ips });
    this.#result = result;
    this.#servicesByIp = demand.servicesByIp;
    this.#reportMoves(diff.moved, result, view.live, previous === undefined);

    const desired = new Set<string>();
    for (const [ip, o] of result) if (o.owner === self && !this.#withheld.has(ip)) desired.add(ip);
    this.#desired = desired;
    // Services on a held IP may change without the IP moving.
    // So may the interfaces an L2Advertisement allows (the announcer re-places it).
    for (const [ip, before] of this.#held) {
      if (!desired.has(ip)) continue;
      const services = this.#servicesByIp.get(ip) ?? [];
      // An IP #take has not announced yet is announced by #take, not by a recompute meanwhile.
      if (!this.#gated.has(ip)) this.#announcer?.own(ip, services.map(serviceKeyOf), this.#namedByIp.get(ip));
      if (sameServices(before, services)) continue;
      this.#held.set(ip, services);
      this.#inputRevision++;
      this.emit('ownership', { ip, owned: true, services });
    }
    if (diff.gained.length > 0 || diff.lost.length > 0) this.#kickApply();
    this.#statusLive = reporter ? view.live : undefined;
    this.#publishL2Status();
    // Only once it went through: an election that threw is computed again at the next request.
    this.#lastInputs = inputs;
  }

  /**
   * Remembers who held each IP elected to us, for handover forwarding: the
   * previous election's owner, or on this speaker's first election (a
   * restart: the IPs come back from whoever took them meanwhile) the owner
   * the others elect without us.
   */
  #notePreviousOwners(gained: readonly string[], previous: ReadonlyMap<string, Ownership> | undefined, input: ElectionInput): void {
    if (!this.#forwarder || gained.length === 0) return;
    const self = this.#opts.nodeName;
    let owners = previous;
    if (owners === undefined) {
      const wanted = new Set(gained);
      const live = new Set(input.live);
      live.delete(self);
      owners = new OwnerElection().elect({ live, nodes: input.nodes, ips: input.ips.filter((d) => wanted.has(d.ip)) });
    }
    for (const ip of gained) {
      const from = owners.get(ip)?.owner;
      if (from !== undefined && from !== self) this.#takenFrom.set(ip, from);
      else this.#takenFrom.delete(ip);
    }
  }

  /**
   * Starts forwarding the previous owner's connections on `ip` to it, when
   * it lingers: it is live (the election moved the IP: it hands over), or
   * its Lease was deleted less than stopLingerMs ago (a clean stop). A
   * speaker that expired has crashed or is cut off: its connections are gone
   * and a reset from here is the quickest news for its clients.
   */
  #forwardToPrevious(ip: string): Promise<boolean> | undefined {
    const peer = this.#takenFrom.get(ip);
    this.#takenFrom.delete(ip);
    if (!this.#forwarder || peer === undefined || !this.#survey) return undefined;
    const now = performance.now();
    for (const [name, d] of this.#departed) if (now - d.at > this.#opts.stopLingerMs) this.#departed.delete(name);
    const annotations = this.#lastLive.has(peer) ? this.#leases?.get(peer, this.#opts.namespace)?.metadata?.annotations : this.#departed.get(peer)?.annotations;
    if (annotations === undefined) return undefined;
    const iface = interfaceForIp(ip, this.#survey, this.#namedByIp.get(ip));
    if (!iface) return undefined;
    const peerMac = peerMacFor(ip, decodeAnnounceMacs(annotations[ANNOUNCE_MACS_ANNOTATION]), iface.name);
    if (peerMac === undefined || peerMac === iface.mac) {
      this.#log.debug({ ip, peer }, 'no MAC of the previous owner for this IP: its connections are not forwarded');
      return undefined;
    }
    return this.#forwarder.open({ ip, device: iface.name, ownMac: iface.mac, peerMac }, this.#opts.stopLingerMs);
  }

  /** The ServiceL2Status objects of what this node holds: Service -> interfaces. */
  #publishL2Status(): void {
    const byService = new Map<string, { ref: ServiceRef; interfaces: Set<string> }>();
    for (const [ip, services] of this.#held) {
      const iface = this.#announcer?.interfaceOf(ip);
      const interfaces = iface !== undefined ? [iface] : this.#announcer ? [] : [...(this.#namedByIp.get(ip) ?? [])];
      for (const ref of services) {
        const key = serviceKeyOf(ref);
        let entry = byService.get(key);
        if (!entry) byService.set(key, (entry = { ref, interfaces: new Set() }));
        for (const i of interfaces) entry.interfaces.add(i);
      }
    }
    const desired: L2StatusEntry[] = [...byService.values()]
      .map(({ ref, interfaces }) => ({ serviceNamespace: ref.namespace, serviceName: ref.name, interfaces: [...interfaces].sort() }))
      .sort((a, b) => (`${a.serviceNamespace}/${a.serviceName}` < `${b.serviceNamespace}/${b.serviceName}` ? -1 : 1));
    this.#l2Status.set(desired, this.#statusLive);
  }

  #electionNodes(live: ReadonlySet<string>): ElectionNode[] {
    const out: ElectionNode[] = [];
    for (const lease of this.#leases!.list()) {
      const name = lease.metadata?.name;
      if (!name || !live.has(name)) continue;
      const node = this.#nodes!.get(name);
      const annotations = lease.metadata?.annotations ?? {};
      let excluded = node ? nodeExclusionReason(node) : `no Node object named ${name}`;
      if (this.#rejoining.has(name)) {
        if (annotations[SPEAKER_READY_ANNOTATION] !== 'false') {
          this.#rejoining.delete(name);
          this.#log.info({ node: name }, 'speaker rejoined: its view of the cluster is fresh, it may own IPs again');
        } else excluded ??= 'rejoining after its Lease expired: its view of the cluster is not fresh yet';
      }
      out.push({ name, excluded, ...capabilityFields(annotations) });
    }
    return out;
  }

  /**
   * Logs owner moves, and IPs nobody may announce: once the reason has held
   * for NO_OWNER_REPORT_DELAY_MS (start-up passes through "no live speaker"
   * and the like while the speakers' Leases arrive), as a warning and, from
   * the reporting speaker (the first live name: one Event, not one per
   * node), as a Warning Event on the Services.
   */
  #reportMoves(moved: OwnerChange[], result: Map<string, Ownership>, live: ReadonlySet<string>, first: boolean): void {
    const self = this.#opts.nodeName;
    for (const change of moved) {
      if (!first && change.to !== undefined) {
        this.#log.debug({ ip: change.ip, from: change.from ?? null, to: change.to }, 'IP owner changed');
      }
    }
    const now = performance.now();
    const reporter = [...live].sort()[0] === self;
    for (const [ip, o] of result) {
      if (o.owner !== undefined || !o.reason) {
        this.#noOwner.delete(ip);
        continue;
      }
      let state = this.#noOwner.get(ip);
      if (!state || state.message !== o.reason.message) {
        state = { message: o.reason.message, since: now, reported: false };
        this.#noOwner.set(ip, state);
      }
      if (state.reported || now - state.since < NO_OWNER_REPORT_DELAY_MS) continue;
      state.reported = true;
      const services = this.#servicesByIp.get(ip) ?? [];
      this.#log.warn({ ip, reason: o.reason.code, services: services.map(serviceKeyOf) }, `no node can announce ${ip}: ${o.reason.message}`);
      if (reporter) {
        for (const svc of services) {
          this.#events.emit(serviceTarget(svc), 'Warning', 'NoAnnouncingNode', `no node announces ${ip}: ${o.reason.message}`);
        }
      }
    }
    for (const ip of this.#noOwner.keys()) if (!result.has(ip)) this.#noOwner.delete(ip);
  }

  #noOwnerReportPending(): boolean {
    for (const state of this.#noOwner.values()) if (!state.reported) return true;
    return false;
  }

  #kickApply(): void {
    if (this.#applying) {
      this.#applyAgain = true;
      return;
    }
    this.#applying = this.#applyLoop().finally(() => (this.#applying = undefined));
  }

  async #applyLoop(): Promise<void> {
    do {
      this.#applyAgain = false;
      const desired = this.#desired;
      for (const ip of [...this.#held.keys()]) {
        if (this.#stopping) return;
        if (desired.has(ip)) continue;
        if (this.#withheld.has(ip)) await this.#release(ip, 'given up while cut off from the API server');
        else await this.#handOver(ip);
      }
      // All at once, not one after another: each take waits for the proxy
      // workers (and after a clean stop for its forwarding chain) before it
      // announces, so a node taking over 33 IPs in turn announced the last
      // of them about half a second after the first (test/bench/failover.ts
      // --extra-ips 99).
      const taking: Array<Promise<void>> = [];
      for (const ip of desired) {
        if (this.#stopping) break;
        if (!this.#held.has(ip)) taking.push(this.#take(ip));
      }
      await Promise.all(taking);
      if (this.#stopping) return;
    } while (this.#applyAgain && !this.#stopping);
    if (!this.#stopping) this.#publishL2Status();
  }

  async #take(ip: string): Promise<void> {
    const services = this.#servicesByIp.get(ip) ?? [];
    const lingering = this.#lingering.get(ip);
    if (lingering) {
      // Elected back while handing it over: it never left the holder (nor
      // counted as lost).
      clearTimeout(lingering.timer);
      this.#lingering.delete(ip);
    } else if (this.#holder) {
      try {
        await this.#holder.add(ip);
      } catch (err) {
        // Retried at the next election (at the latest within a second: the ticker's).
        this.#log.error({ ip, device: this.#holder.device, err: (err as Error).message }, 'could not add the IP to the holder device');
        this.#inputRevision++;
        return;
      }
    }
    if (this.#stopping) return;
    this.#held.set(ip, services);
    this.#inputRevision++;
    // Before the announcement, so the peer's connections never meet a reset here.
    const forwarding = lingering ? undefined : this.#forwardToPrevious(ip);
    // Serve first, announce second: a client that follows the gratuitous ARP
    // at once must find the listeners bound (proxy workers bind a few
    // milliseconds after this event; the gate waits for them).
    this.emit('ownership', { ip, owned: true, services });
    // Until the announcement below, an election in between must not announce
    // the IP either (#elect): not before the workers listen, nor before the
    // previous owner's connections are forwarded (announced before, the
    // client's next packet of a connection begun there met a reset here).
    this.#gated.add(ip);
    try {
      if (this.#announceGate) {
        try {
          await this.#announceGate(ip);
        } catch (err) {
          // The gates are bounded in time; one that fails must not keep a held IP silent for good.
          this.#log.warn({ ip, err: (err as Error).message }, 'announcement gate failed: announcing anyway');
        }
      }
      if (forwarding) await Promise.race([forwarding, sleep(FORWARD_WAIT_MS)]);
    } finally {
      this.#gated.delete(ip);
    }
    const now = this.#held.get(ip);
    if (this.#stopping || now === undefined) return;
    // The services may have changed while the gate was closed.
    this.#announcer?.own(ip, now.map(serviceKeyOf), this.#namedByIp.get(ip));
    if (!lingering) this.metrics.ownershipChanges.inc({ change: 'gained' });
    if (!this.#opts.dataplane) this.#setGauge();
    this.#log.info(
      { ip, services: services.map(serviceKeyOf), node: this.#opts.nodeName, interface: this.#announcer?.interfaceOf(ip) },
      'took over IP: this node announces it',
    );
    for (const svc of services) {
      this.#events.emit(serviceTarget(svc), 'Normal', 'nodeAssigned', `announcing ${ip} from node ${this.#opts.nodeName}`);
    }
  }

  /**
   * Announcements of gained IPs wait for `gate(ip)` (bounded by its owner):
   * the proxy worker pool resolves it once every worker listens on the IP.
   */
  gateAnnouncements(gate: (ip: string) => Promise<void>): void {
    this.#announceGate = gate;
  }

  /**
   * Elected elsewhere: stop announcing (the new owner answers ARP/NDP from
   * now on) but keep the IP on the holder, and the proxy's listeners on it,
   * for stopLingerMs, as a clean stop does: connections a neighbour still
   * sends here on its old ARP entry are served, not dropped, until the new
   * owner's gratuitous ARP has reached it.
   */
  async #handOver(ip: string): Promise<void> {
    const linger = this.#opts.dataplane ? this.#opts.stopLingerMs : 0;
    if (linger <= 0) return this.#release(ip, 'elected elsewhere');
    const services = this.#held.get(ip) ?? [];
    this.#held.delete(ip);
    this.#inputRevision++;
    this.#announcer?.release(ip);
    void this.#forwarder?.close(ip);
    const timer = setTimeout(() => {
      this.#lingering.delete(ip);
      void this.#unhold(ip, services, 'elected elsewhere');
    }, linger);
    this.#lingering.set(ip, { timer, services });
  }

  async #release(ip: string, why: string): Promise<void> {
    const services = this.#held.get(ip) ?? [];
    this.#held.delete(ip);
    this.#inputRevision++;
    this.#announcer?.release(ip);
    void this.#forwarder?.close(ip);
    await this.#unhold(ip, services, why);
  }

  /**
   * The IP leaves the holder device, then the proxy. In that order: while
   * the IP is still local, a connection a neighbour sends on a stale ARP
   * entry must find the listener or the DNAT rule, else the kernel answers
   * it with a reset (the client sees ECONNREFUSED); once the IP is gone such
   * a packet is not for this host, and the client's retry finds the new owner.
   */
  async #unhold(ip: string, services: ServiceRef[], why: string): Promise<void> {
    if (this.#holder) {
      try {
        await this.#holder.remove(ip);
      } catch (err) {
        this.#log.error({ ip, device: this.#holder.device, err: (err as Error).message }, 'could not remove the IP from the holder device');
      }
    }
    this.emit('ownership', { ip, owned: false, services });
    this.metrics.ownershipChanges.inc({ change: 'lost' });
    if (!this.#opts.dataplane) this.#setGauge();
    this.#log.info({ ip, services: services.map(serviceKeyOf), node: this.#opts.nodeName, why }, 'gave up IP: this node no longer announces it');
  }

  /** Without the dataplane there is no announcer to keep the gauge. */
  #setGauge(): void {
    let v4 = 0;
    for (const ip of this.#held.keys()) if (!ip.includes(':')) v4++;
    this.metrics.announcedIps.set({ family: 'ipv4' }, v4);
    this.metrics.announcedIps.set({ family: 'ipv6' }, this.#held.size - v4);
  }

  /**
   * A foreign claim of an IP we hold. While the API is reachable, a claim is
   * often a handover in flight (the other node reacted to the Lease change a
   * few ms before us): it counts as a conflict only if we still hold the IP
   * CONFLICT_CONFIRM_MS later. Cut off from the API, it means the others
   * have moved on without us: we give the IP up at once.
   */
  #onConflict(event: ConflictEvent): void {
    const key = `${event.ip} ${event.mac}`;
    if (event.type === 'conflict-resolved') {
      if (!this.#reportedConflicts.delete(key)) return;
      const services = this.#servicesByIp.get(event.ip) ?? [];
      this.#log.info(this.#conflictFields(event, services), event.message);
      for (const svc of services) this.#events.emit(serviceTarget(svc), 'Normal', 'IPConflictResolved', event.message);
      return;
    }
    if (this.#membership.view(performance.now()).frozen) {
      this.#reportConflict(event, key);
      this.#giveUp(event.ip, event.mac);
      return;
    }
    setTimeout(() => {
      if (this.#stopping) return;
      if (!this.#held.has(event.ip)) {
        this.#log.debug({ ip: event.ip, mac: event.mac }, 'claim seen while handing the IP over: not a conflict');
        return;
      }
      this.#reportConflict(event, key);
      // Still ours with a fresh view: defend it once (RFC 5227, 2.4 (b)), so
      // neighbours that followed the other claim come back at once; the
      // detector reports a pair at most once a minute. Not against another
      // speaker: its claim is a handover our view has not caught up with
      // yet, and our defence would pull its clients back to us just before
      // we let the IP go; the election settles it.
      if (this.#membership.view(performance.now()).frozen) return;
      const peer = this.#speakerWithMac(event.mac);
      if (peer === undefined) this.#announcer?.announceNow([event.ip], 'defend');
      else this.#log.debug({ ip: event.ip, mac: event.mac, peer }, 'claim by another speaker: left to the election, not defended');
    }, CONFLICT_CONFIRM_MS).unref();
  }

  /** The live speaker that announces from `mac` (from its Lease), if any. */
  #speakerWithMac(mac: string): string | undefined {
    const wanted = mac.toLowerCase();
    for (const name of this.#lastLive) {
      if (name === this.#opts.nodeName) continue;
      const annotations = this.#leases?.get(name, this.#opts.namespace)?.metadata?.annotations;
      if (decodeAnnounceMacs(annotations?.[ANNOUNCE_MACS_ANNOTATION]).some((i) => i.mac.toLowerCase() === wanted)) return name;
    }
    return undefined;
  }

  /** Cut off from the API server while another node claims `ip` (or must have taken it): the others have moved on, so this node lets it go. */
  #giveUp(ip: string, mac: string | undefined, why = 'cut off from the API server and another node claims this IP: the others have moved on, giving it up'): void {
    if (!this.#held.has(ip) || this.#withheld.has(ip)) return;
    this.#log.warn({ ip, ...(mac !== undefined ? { mac } : {}) }, why);
    this.#withheld.add(ip);
    this.#inputRevision++;
    this.#desired.delete(ip);
    this.#kickApply();
  }

  #reportConflict(event: ConflictEvent, key: string): void {
    const services = this.#servicesByIp.get(event.ip) ?? this.#held.get(event.ip) ?? [];
    this.#reportedConflicts.add(key);
    if (this.#reportedConflicts.size > 4096) this.#reportedConflicts.clear();
    this.metrics.conflicts.inc({ ip: event.ip });
    this.#log.warn(this.#conflictFields(event, services), event.message);
    for (const svc of services) this.#events.emit(serviceTarget(svc), 'Warning', 'IPConflict', event.message);
  }

  #conflictFields(event: ConflictEvent, services: ServiceRef[]) {
    return { ip: event.ip, mac: event.mac, kind: event.kind, interface: event.interface, claims: event.claims, services: services.map(serviceKeyOf) };
  }
}

function sameServices(a: readonly ServiceRef[], b: readonly ServiceRef[]): boolean {
  return a.length === b.length && a.every((x, i) => x.namespace === b[i]!.namespace && x.name === b[i]!.name && x.uid === b[i]!.uid);
}

function serviceTarget(svc: ServiceRef) {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: svc.name, namespace: svc.namespace, uid: svc.uid } };
}

