// Keeps the kernel's DNAT rules (nft-script.ts) equal to the L4 ports whose
// Service asks for `metalgate.io/l4-dataplane: kernel` on IPs this node owns,
// and to their endpoints. Thin: the listen plan and the EndpointIndex in,
// `nft -f` out, one apply at a time; a change during an apply is picked up
// right after it.
//
// A failed apply changes nothing in the kernel (one transaction), so the
// last good rules keep forwarding; the error goes to the log and, once per
// distinct error, as a Warning Event on each Service concerned. The next
// apply writes the table whole, and a failure is retried after a pause even
// if nothing else changes. Connections already forwarded live in conntrack
// and survive rule changes: an endpoint removed from the rules gets no new
// connection and keeps the ones it has, as a terminating endpoint should.
// UDP flows are the exception (stale-udp-flows.ts): after each apply, flows
// to an endpoint that is gone, and flows that reached this node while a port
// had no endpoint, are deleted from conntrack so their next datagram takes
// the new rules.

import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from '../../common/prom-classes.ts';
import type { EndpointSource } from '../endpoints/endpoint-slots.ts';
import type { ListenerSpec } from '../listeners/listen-plan.ts';
import type { KernelCommands } from './kernel-commands.ts';
import { buildNftScript, forwardsPort, NFT_TABLE, nftDeleteScript, type KernelPort, type NftCounter, type NftState } from './nft-script.ts';
import { conntrackFilter, staleUdpFlows, type UdpPortFlows } from './stale-udp-flows.ts';

/** How many of the ports a failed apply names in its log line (the count names them all). */
const LOGGED_PORTS = 10;

export interface KernelForwardingOptions {
  readonly log: Logger;
  readonly endpoints: EndpointSource;
  /** nft and conntrack (kernel-commands.ts). */
  readonly commands: KernelCommands;
  readonly registry: Registry;
  /**
   * Called when `usable()` changes: the proxy serves kernel ports with
   * listeners while the kernel cannot take them.
   */
  readonly onUsableChange?: () => void;
  /** Called after an apply that changed `forwarding()`. */
  readonly onApplied?: () => void;
  /** A Warning about one Service (the proxy turns it into an Event). */
  readonly warn?: (service: { service: string; serviceUid: string | undefined }, reason: string, message: string) => void;
  /** Pause before retrying a failed apply. Default 5 s. */
  readonly retryMs?: number;
  /** How often to check that the table is still there (a firewall reload may flush the ruleset). Default 30 s. */
  readonly checkMs?: number;
}

const DEFAULT_RETRY_MS = 5_000;
const DEFAULT_CHECK_MS = 30_000;

export class KernelForwarding {
  readonly #o: KernelForwardingOptions;
  readonly #applies: Counter<'result'>;
  readonly #ports: Gauge;
  readonly #flowDeletes: Counter<'result'>;
  #specs: readonly ListenerSpec[] = [];
  /** What the kernel holds after the last successful apply; undefined: unknown, write the table whole. */
  #state: NftState | undefined;
  /** The ports and endpoints of the last successful apply: the same again changes nothing. */
  #applied: string | undefined;
  /** UDP ports as the last successful apply left them (undefined: none applied by this process yet). */
  #udp: Map<string, UdpPortFlows> | undefined;
  #lastFlowError: string | undefined;
  /** Families whose forwarding was found off (reported once). */
  readonly #forwardingOff = new Set<4 | 6>();
  /** What each named counter of the last successful apply counts. */
  #counters: readonly NftCounter[] = [];
  /** Packets each counter had at the last read: the next read adds the difference. */
  #counted = new Map<string, number>();
  #counting: Promise<void> | undefined;
  #lastCountError: string | undefined;
  #forwarding: string[] = [];
  #running: Promise<void> | undefined;
  #again = false;
  #scheduled = false;
  #retry: NodeJS.Timeout | undefined;
  #check: NodeJS.Timeout | undefined;
  #lastError: string | undefined;
  #lastSkipped = '';
  /** Rules a previous process left behind were looked for (once, at the first plan without kernel ports). */
  #swept = false;
  #closed = false;
  /** An apply has succeeded in this process. */
  #everApplied = false;
  /** The last apply failed and none ever succeeded: the kernel holds no rules of ours. */
  #neverWorked = false;

  constructor(o: KernelForwardingOptions) {
    this.#o = o;
    this.#applies = new Counter({
      name: 'metalgate_proxy_kernel_rule_applies_total',
      help: 'nftables transactions for kernel-forwarded L4 ports (metalgate.io/l4-dataplane: kernel), by result',
      labelNames: ['result'],
      registers: [o.registry],
    });
    this.#ports = new Gauge({
      name: 'metalgate_proxy_kernel_forwarded_ports',
      help: 'Service IP:ports forwarded by kernel DNAT rules now (with at least one endpoint)',
      registers: [o.registry],
    });
    this.#flowDeletes = new Counter({
      name: 'metalgate_proxy_kernel_udp_flow_deletes_total',
      help: 'conntrack deletes of UDP flows to a gone endpoint or from before a port had endpoints, by result',
      labelNames: ['result'],
      registers: [o.registry],
    });
  }

  /** The kernel-forwarded listener specs of the current plan. */
  apply(specs: readonly ListenerSpec[]): void {
    this.#specs = specs;
    this.changed();
  }

  /** Endpoints moved: the rules follow (a no-op when the script comes out the same). */
  changed(): void {
    if (this.#closed || this.#scheduled) return;
    this.#scheduled = true;
    // Coalesces a burst of watch events into one build.
    setImmediate(() => {
      this.#scheduled = false;
      this.#kick();
    });
  }

  /**
   * False once an apply has failed while none ever succeeded in this process
   * (no nft, no nf_tables): the kernel forwards nothing of ours, so the
   * proxy should serve those ports itself. After a success it stays true:
   * a later failure leaves the last good rules forwarding.
   */
  usable(): boolean {
    return !this.#neverWorked;
  }

  /**
   * Whether the rules would forward this port with the endpoints known now
   * (one at least): a port without gets no rule and is refused by the
   * kernel, so the proxy need not listen for it while rules are on their way.
   */
  wouldForward(spec: ListenerSpec): boolean {
    return forwardsPort(this.#port(spec).rules);
  }

  /** Listener keys forwarded by the rules in the kernel now. */
  forwarding(): string[] {
    return [...this.#forwarding];
  }

  /**
   * Adds the new connections the kernel counted since the last call to
   * `into` (metalgate_proxy_l4_connections_total, shared with the user-space
   * forwarder), by Service port. Called at scrape time; one read at a time.
   */
  countConnections(into: Counter<'service' | 'port' | 'protocol'>): Promise<void> {
    if (this.#counters.length === 0 || this.#closed) return Promise.resolve();
    this.#counting ??= this.#readCounters(into).finally(() => {
      this.#counting = undefined;
    });
    return this.#counting;
  }

  async #readCounters(into: Counter<'service' | 'port' | 'protocol'>): Promise<void> {
    const r = await this.#o.commands.counters(NFT_TABLE);
    if (!r.ok) {
      if (r.error !== this.#lastCountError) this.#o.log.warn({ err: r.error }, 'could not read the kernel forwarding counters');
      this.#lastCountError = r.error;
      return;
    }
    this.#lastCountError = undefined;
    const counted = new Map<string, number>();
    for (const c of this.#counters) {
      const now = r.packets.get(c.name);
      if (now === undefined) continue;
      const before = this.#counted.get(c.name) ?? 0;
      // Lower than before: the counter was made again (the table was rewritten whole); all it holds is new.
      const added = now >= before ? now - before : now;
      if (added > 0) into.inc({ service: c.service, port: c.port, protocol: c.protocol }, added);
      counted.set(c.name, now);
    }
    this.#counted = counted;
  }

  /** Resolves when no apply is running or scheduled (tests). */
  async idle(): Promise<void> {
    while (this.#running !== undefined || this.#scheduled) {
      if (this.#running) await this.#running;
      else await new Promise((r) => setImmediate(r));
    }
  }

  /** Removes the table: connections already forwarded keep going (conntrack), new ones are refused. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retry);
    clearInterval(this.#check);
    await this.#running;
    if (this.#applied === undefined && this.#state === undefined && this.#specs.length === 0) return;
    const r = await this.#o.commands.nft(nftDeleteScript());
    if (r.ok) this.#o.log.info('kernel forwarding rules removed');
    else this.#o.log.error({ err: r.error }, 'could not remove the kernel forwarding rules');
    this.#ports.set(0);
    this.#forwarding = [];
  }

  #kick(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#sync().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.#kick();
      }
    });
  }

  async #sync(): Promise<void> {
    if (this.#specs.length === 0 && this.#state === undefined && this.#applied === undefined) {
      await this.#sweep();
      return;
    }
    const ports = this.#specs.map((s) => this.#port(s));
    const inputs = JSON.stringify(ports);
    if (this.#state !== undefined && inputs === this.#applied) return;
    const built = buildNftScript(ports.map((p) => p.rules), this.#state);
    this.#reportSkipped(built.skipped);
    // Before rules ever worked here, a node that does not forward would drop
    // every DNATed packet: leave the ports to the proxy until it does.
    const notForwarding = this.#everApplied ? undefined : await this.#notForwarding(ports.map((p) => p.rules.ip));
    const r = notForwarding !== undefined ? { ok: false as const, error: `${notForwarding} is 0: the kernel would drop forwarded packets` } : await this.#o.commands.nft(built.script);
    if (this.#closed) return;
    if (r.ok) {
      this.#applies.inc({ result: 'ok' });
      this.#everApplied = true;
      this.#setNeverWorked(false);
      this.#state = built.state;
      this.#applied = inputs;
      // Only a change of which ports the kernel forwards moves listeners (endpoint moves do not).
      const moved = built.forwarded.length !== this.#forwarding.length || built.forwarded.some((k, i) => k !== this.#forwarding[i]);
      this.#forwarding = [...built.forwarded];
      this.#counters = built.counters;
      this.#ports.set(built.forwarded.length);
      this.#o.log.info({ ports: built.forwarded.length, listeners: this.#specs.length }, 'kernel forwarding rules applied');
      this.#lastError = undefined;
      if (moved) this.#o.onApplied?.();
      this.#startChecks();
      const forwarded = new Set(built.forwarded);
      await this.#checkForwarding(ports.filter((p) => forwarded.has(p.rules.key)).map((p) => p.rules));
      const udp = new Map<string, UdpPortFlows>();
      for (const p of ports) {
        if (p.rules.protocol === 'UDP') udp.set(p.rules.key, { ip: p.rules.ip, port: p.rules.port, forwarded: forwarded.has(p.rules.key), endpoints: p.flowsMayStay });
      }
      await this.#deleteStaleFlows(udp);
      return;
    }
    this.#applies.inc({ result: 'error' });
    this.#state = undefined;
    this.#applied = undefined;
    if (!this.#everApplied && this.#specs.length > 0) this.#setNeverWorked(true);
    // A few of the ports, and how many: with 1,000 Services the whole list made each line (one per retry) 25 KB.
    const keys = this.#specs.map((s) => s.key);
    this.#o.log.error(
      { err: r.error, ports: keys.length, listeners: keys.slice(0, LOGGED_PORTS) },
      'kernel forwarding rules not applied: the previous rules stay in force',
    );
    if (r.error !== this.#lastError) {
      this.#lastError = r.error;
      const seen = new Set<string>();
      for (const s of this.#specs) {
        if (seen.has(s.service)) continue;
        seen.add(s.service);
        this.#o.warn?.(s, 'KernelForwardingFailed', `nftables rules for ${s.service} not applied (the previous rules stay in force): ${firstLine(r.error)}`);
      }
    }
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => this.#kick(), this.#o.retryMs ?? DEFAULT_RETRY_MS);
    this.#retry.unref();
  }

  /** The sysctl that is off for a family some of these IPs need, else undefined. */
  async #notForwarding(ips: readonly string[]): Promise<string | undefined> {
    for (const family of [4, 6] as const) {
      if (!ips.some((ip) => (family === 6) === ip.includes(':'))) continue;
      if ((await this.#o.commands.forwardingEnabled(family)) === false) return family === 4 ? 'net.ipv4.ip_forward' : 'net.ipv6.conf.all.forwarding';
    }
    return undefined;
  }

  #setNeverWorked(v: boolean): void {
    if (this.#neverWorked === v) return;
    this.#neverWorked = v;
    if (v) this.#o.log.warn('kernel forwarding unavailable here: the proxy serves the ports meant for it until an apply succeeds');
    else this.#o.log.info('kernel forwarding available: it takes over the ports the proxy served meanwhile');
    this.#o.onUsableChange?.();
  }

  /** Writes the table again when something else removed it (nft flush ruleset, a firewall reload). */
  #startChecks(): void {
    if (this.#check !== undefined) return;
    this.#check = setInterval(() => {
      if (this.#running !== undefined || this.#state === undefined || this.#closed) return;
      void this.#o.commands.tableExists(NFT_TABLE).then((exists) => {
        if (exists || this.#closed || this.#running !== undefined || this.#state === undefined) return;
        this.#o.log.warn('kernel forwarding table removed by something else: writing it again');
        this.#state = undefined;
        this.#applied = undefined;
        this.#kick();
      });
    }, this.#o.checkMs ?? DEFAULT_CHECK_MS);
    this.#check.unref();
  }

  /**
   * No kernel port here, and none applied yet: remove a table an earlier
   * process may have left (its DNAT would take the traffic of ports now
   * served by the proxy). Only looks where nothing was left, so a node
   * without kernel ports (or without nft) never has its ruleset written.
   */
  async #sweep(): Promise<void> {
    if (this.#swept) return;
    this.#swept = true;
    if (!(await this.#o.commands.tableExists(NFT_TABLE))) return;
    const r = await this.#o.commands.nft(nftDeleteScript());
    if (r.ok) this.#o.log.info('kernel forwarding rules left by an earlier process removed');
    else this.#o.log.warn({ err: r.error }, 'could not remove kernel forwarding rules left by an earlier process');
  }

  /**
   * DNAT to a pod is routed from the node's LAN interface to another one:
   * with the kernel's forwarding off for that family, the rules are in place
   * and every packet is dropped, silently. Kubernetes nodes have it on; say
   * so loudly where it is off (once per family until it is on again).
   */
  async #checkForwarding(forwarded: readonly KernelPort[]): Promise<void> {
    for (const family of [4, 6] as const) {
      const ports = forwarded.filter((p) => (family === 6) === p.ip.includes(':'));
      if (ports.length === 0) continue;
      const on = await this.#o.commands.forwardingEnabled(family);
      if (on !== false) {
        if (on === true) this.#forwardingOff.delete(family);
        continue;
      }
      if (this.#forwardingOff.has(family)) continue;
      this.#forwardingOff.add(family);
      const sysctl = family === 4 ? 'net.ipv4.ip_forward' : 'net.ipv6.conf.all.forwarding';
      this.#o.log.error({ sysctl, ports: ports.map((p) => p.key) }, `${sysctl} is 0 on this node: kernel-forwarded packets are dropped until it is 1`);
      const seen = new Set<string>();
      for (const s of this.#specs) {
        if (seen.has(s.service) || !ports.some((p) => p.key === s.key)) continue;
        seen.add(s.service);
        this.#o.warn?.(s, 'KernelForwardingDisabled', `${sysctl} is 0 on this node: packets to ${s.service} forwarded by the kernel are dropped until it is 1`);
      }
    }
  }

  /**
   * After the rules: conntrack forgets the UDP flows they would not pick
   * (stale-udp-flows.ts), so the next datagram of each takes the new rules.
   * Best effort: a failure is logged (once per distinct error) and the flow
   * ends by itself when the client goes quiet.
   */
  async #deleteStaleFlows(udp: Map<string, UdpPortFlows>): Promise<void> {
    const stale = staleUdpFlows(this.#udp, udp);
    this.#udp = udp;
    for (const s of stale) {
      const r = await this.#o.commands.deleteFlows(conntrackFilter(s));
      if (r.ok) {
        this.#flowDeletes.inc({ result: 'ok' });
        if (r.deleted > 0) this.#o.log.info({ ip: s.ip, port: s.port, answeredBy: s.answeredBy.ip, why: s.why, flows: r.deleted }, 'stale UDP flows deleted from conntrack');
        continue;
      }
      this.#flowDeletes.inc({ result: 'error' });
      if (r.error !== this.#lastFlowError) {
        this.#lastFlowError = r.error;
        this.#o.log.warn({ err: r.error, ip: s.ip, port: s.port }, 'could not delete stale UDP flows (they end when their client goes quiet): is conntrack installed?');
      }
    }
  }

  #port(s: ListenerSpec): { rules: KernelPort; flowsMayStay: UdpPortFlows['endpoints'] } {
    const set = this.#o.endpoints.endpoints(s.service, s.portName);
    const rules: KernelPort = {
      key: s.key,
      ip: s.ip,
      port: s.port,
      protocol: s.protocol,
      service: s.service,
      portName: s.portName,
      endpoints: set.active.map((e) => ({ ip: e.ip, port: e.port })),
      masquerade: !set.localOnly,
      affinitySeconds: set.affinityTimeoutMs === undefined ? undefined : Math.ceil(set.affinityTimeoutMs / 1000),
      sourceRanges: s.l4.sourceRanges,
    };
    const flowsMayStay = [...set.active, ...set.draining].map((e) => ({ ip: e.ip, port: e.port }));
    return { rules, flowsMayStay };
  }

  #reportSkipped(skipped: ReturnType<typeof buildNftScript>['skipped']): void {
    const text = JSON.stringify(skipped);
    if (text === this.#lastSkipped) return;
    this.#lastSkipped = text;
    for (const s of skipped) this.#o.log.warn({ listener: s.key, endpoint: s.endpoint }, `endpoint left out of kernel forwarding: ${s.why}`);
  }
}

function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim() !== '') ?? s;
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}
