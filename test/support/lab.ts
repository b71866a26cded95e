// The network-namespace lab: a switch, clients and nodes on one LAN, pods
// behind nodes, and the real API server reachable from inside the nodes
// through relays, all in namespaces this lab creates and removes itself.
// Nothing touches the host's interfaces, routes or sysctls. Layout and
// addresses: lab-plan.ts. Relays: relay.ts.
//
//   const lab = await Lab.create({ nodes: ['node1', 'node2'], clients: ['client'], apiServer: cp });
//   try { ... } finally { await lab.destroy(); }
//
// Names carry a per-run id, so test files may run labs in parallel. A lab
// that crashed is removed by the next Lab.create (sweepLabs in
// lab-sweep.ts), or by hand: `node test/support/lab.ts sweep [--all]`.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { startCapture, type Capture } from './capture.ts';
import { startHttpProbe, type HttpProbe, type HttpProbeOptions } from './http-probe.ts';
import {
  hostBatch,
  LAN_V4_SUBNET,
  LAN_V6_SUBNET,
  lanBatch,
  LAB_NS_PREFIX,
  planLab,
  planPod,
  podBatch,
  podNodeBatch,
  type HostPlan,
  type LabPlan,
  type PodPlan,
} from './lab-plan.ts';
import { LabProcess, type ExitStatus, type LabSpawnOptions } from './lab-process.ts';
import { LAB_BASE_DIR, removeNamespaces, sweepLabs, writeOwner, type SweepReport } from './lab-sweep.ts';
import { execInNamespace, ip, ipBatch, labSkipReason, listNamespaces, namespacePidsSync, nodeBinary, repoRoot, run, type RunOptions, type RunResult } from './netns-exec.ts';

export type { Capture } from './capture.ts';
export type { HttpProbe, HttpProbeOptions } from './http-probe.ts';
export type { ProbeSample } from './probe-stats.ts';
export type { EchoReply } from './echo-server.ts';
export type { ExitStatus, LabSpawnOptions } from './lab-process.ts';
export { LabProcess } from './lab-process.ts';
export type { RunResult } from './netns-exec.ts';

export const RELAY_SCRIPT = join(repoRoot, 'test/support/relay.ts');
/** HTTP server answering JSON (EchoReply) with an x-served-by header: --port, --host, --name. */
export const ECHO_SERVER_SCRIPT = join(repoRoot, 'test/support/echo-server.ts');
const READY_TIMEOUT_MS = 15_000;

export interface LabOptions {
  nodes: readonly string[];
  clients?: readonly string[];
  /** Dual-stack LAN and pods (default true). */
  ipv6?: boolean;
  /**
   * The API server to make reachable from inside node namespaces (a
   * ControlPlane fits). Its URL must be https://127.0.0.1:PORT (or another
   * 127.x address): inside each node namespace a relay listens on that same
   * address, so the same kubeconfig works there.
   */
  apiServer?: { server: string };
  /** Give clients an API path too (default false: clients are outside the cluster). */
  apiOnClients?: boolean;
  /** Remove what crashed labs left before creating this one (default true). */
  sweepStale?: boolean;
  /**
   * Where process logs go. Default: METALGATE_LAB_LOG_DIR/<runId> when that
   * variable is set (kept after destroy, for debugging), else the run
   * directory (removed by destroy).
   */
  logDir?: string;
  progress?: (line: string) => void;
}

/** A namespace name, or anything that has one (a host, a pod). */
export type NsRef = string | { readonly ns: string };

export interface LabHost {
  readonly name: string;
  readonly role: 'node' | 'client';
  readonly ns: string;
  /** Its LAN interface inside its namespace: eth0. */
  readonly iface: string;
  readonly mac: string;
  readonly ipv4: string;
  /** With prefix length: 198.18.0.11/24. */
  readonly ipv4Cidr: string;
  readonly ipv6: string | undefined;
  readonly ipv6Cidr: string | undefined;
  /** fe80::<host octet> on eth0 (IPv6 labs). */
  readonly linkLocalV6: string | undefined;
  /** Its port on the switch (in the lan namespace). */
  readonly lanPort: string;
  /** Runs a program inside the namespace to completion (throws on a non-zero exit). */
  exec(cmd: string, args?: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** `ip -n <ns> args...` */
  ip(args: readonly string[]): Promise<string>;
  /** Starts a tracked program inside the namespace (stopped by destroy). */
  spawn(cmd: string, args?: readonly string[], opts?: LabSpawnOptions): LabProcess;
  /** Starts a Node 24 script (TypeScript runs as is) inside the namespace. */
  spawnNode(script: string, args?: readonly string[], opts?: LabSpawnOptions): LabProcess;
  /** Starts http-prober.ts here against `url`: one GET per interval on a fresh connection. */
  probeHttp(url: string, opts?: HttpProbeOptions): HttpProbe;
}

export interface LabNode extends LabHost {
  readonly role: 'node';
  readonly podCidrV4: string;
  readonly podCidrV6: string | undefined;
}

export interface LabPod {
  readonly name: string;
  readonly node: string;
  readonly ns: string;
  /** eth0 inside the pod. */
  readonly iface: string;
  /** The node's end of the pod's veth (pod1, pod2, ...), in the node namespace. */
  readonly nodeIface: string;
  readonly ipv4: string;
  readonly ipv6: string | undefined;
  exec(cmd: string, args?: readonly string[], opts?: RunOptions): Promise<RunResult>;
  spawn(cmd: string, args?: readonly string[], opts?: LabSpawnOptions): LabProcess;
  spawnNode(script: string, args?: readonly string[], opts?: LabSpawnOptions): LabProcess;
  /**
   * Starts test/support/echo-server.ts in the pod on `port` (all addresses)
   * and resolves once it listens. Replies are JSON: EchoReply.
   */
  serveHttp(port?: number, opts?: { name?: string }): Promise<LabProcess>;
}

export type LinkCut = 'carrier' | 'silent';
export type ApiCut = 'refuse' | 'blackhole';

interface HostState {
  plan: HostPlan;
  handle: LabHost;
  relay: LabProcess | undefined;
  apiCut: ApiCut | false;
  pods: Map<string, { plan: PodPlan; handle: LabPod }>;
  podCount: number;
}

function nsOf(ref: NsRef): string {
  return typeof ref === 'string' ? ref : ref.ns;
}

/** The loopback host and port the API server listens on, from its URL. */
export function apiLoopbackAddress(server: string): { host: string; port: number } {
  const url = new URL(server);
  const host = url.hostname;
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  if (!/^127\.\d+\.\d+\.\d+$/.test(host)) {
    throw new Error(`lab API relay needs an API server on a 127.x address (got ${server}): namespace loopback can only mirror that`);
  }
  return { host, port };
}

export class Lab {
  readonly runId: string;
  readonly plan: LabPlan;
  /** Run directory: owner file, the API relay socket, captures, logs by default. */
  readonly runDir: string;
  readonly logDir: string;
  readonly lan: { readonly ns: string; readonly bridge: string; readonly ipv4Subnet: string; readonly ipv6Subnet: string | undefined };
  /** The API server URL, valid on the host and inside node namespaces alike. */
  readonly apiServer: string | undefined;
  /** What the stale-lab sweep at create removed. */
  sweepReport: SweepReport | undefined;

  readonly #hosts = new Map<string, HostState>();
  readonly #processes = new Set<LabProcess>();
  readonly #api: { host: string; port: number } | undefined;
  readonly #apiSocket: string;
  readonly #progress: (line: string) => void;
  readonly #apiOnClients: boolean;
  #logSeq = 0;
  #destroyed = false;
  readonly #onExit = (): void => this.#emergencyCleanup();

  private constructor(plan: LabPlan, opts: LabOptions) {
    this.runId = plan.runId;
    this.plan = plan;
    this.runDir = join(LAB_BASE_DIR, plan.runId);
    const envLogDir = process.env.METALGATE_LAB_LOG_DIR;
    this.logDir = opts.logDir ?? (envLogDir ? join(envLogDir, plan.runId) : join(this.runDir, 'logs'));
    this.lan = { ns: plan.lanNs, bridge: plan.bridge, ipv4Subnet: LAN_V4_SUBNET, ipv6Subnet: plan.ipv6 ? LAN_V6_SUBNET : undefined };
    this.apiServer = opts.apiServer?.server;
    this.#api = opts.apiServer ? apiLoopbackAddress(opts.apiServer.server) : undefined;
    this.#apiSocket = join(this.runDir, 'api.sock');
    this.#progress = opts.progress ?? (() => {});
    this.#apiOnClients = opts.apiOnClients ?? false;
    for (const h of plan.hosts) {
      this.#hosts.set(h.name, { plan: h, handle: this.#hostHandle(h), relay: undefined, apiCut: false, pods: new Map(), podCount: 0 });
    }
  }

  /** Builds the lab; on any failure removes what it made and rethrows. */
  static async create(opts: LabOptions): Promise<Lab> {
    const cannot = labSkipReason();
    if (cannot !== null) throw new Error(`the network-namespace lab ${cannot}`);
    const plan = planLab({
      runId: randomBytes(4).readUInt32BE(0).toString(36).padStart(7, '0').slice(-7),
      nodes: opts.nodes,
      clients: opts.clients ?? [],
      ipv6: opts.ipv6 ?? true,
    });
    const lab = new Lab(plan, opts);
    if (opts.sweepStale ?? true) lab.sweepReport = await sweepLabs({ exceptRunId: plan.runId });
    await writeOwner(lab.runDir); // before anything else exists: the sweep's proof this run is alive
    process.on('exit', lab.#onExit);
    try {
      await lab.#build();
    } catch (err) {
      await lab.destroy().catch(() => {});
      throw err;
    }
    return lab;
  }

  async #build(): Promise<void> {
    const t0 = Date.now();
    const hosts = [...this.#hosts.values()].map((h) => h.plan);
    await ipBatch(undefined, [this.plan.lanNs, ...hosts.map((h) => h.ns)].map((ns) => `netns add ${ns}`));
    // The switch namespace stays silent: IPv6 off before any device exists.
    await execInNamespace(this.plan.lanNs, ['sh', '-c', 'echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6']);
    await ipBatch(this.plan.lanNs, lanBatch(this.plan));
    await Promise.all(hosts.map((h) => ipBatch(h.ns, hostBatch(h))));
    this.#progress(`lab ${this.runId}: LAN up with ${hosts.map((h) => `${h.name} ${h.ipv4}`).join(', ')} (${Date.now() - t0} ms)`);
    if (this.#api) {
      await this.#startHostRelay();
      await Promise.all(
        [...this.#hosts.values()].filter((h) => h.plan.role === 'node' || this.#apiOnClients).map((h) => this.#startNsRelay(h)),
      );
      this.#progress(`lab ${this.runId}: API ${this.apiServer} relayed into the namespaces (${Date.now() - t0} ms)`);
    }
  }

  // ---- hosts ----

  node(name: string): LabNode {
    const h = this.#state(name);
    if (h.plan.role !== 'node') throw new Error(`lab host "${name}" is a client, not a node`);
    return h.handle as LabNode;
  }

  client(name: string): LabHost {
    const h = this.#state(name);
    if (h.plan.role !== 'client') throw new Error(`lab host "${name}" is a node, not a client`);
    return h.handle;
  }

  host(name: string): LabHost {
    return this.#state(name).handle;
  }

  get nodes(): LabNode[] {
    return [...this.#hosts.values()].filter((h) => h.plan.role === 'node').map((h) => h.handle as LabNode);
  }

  get clients(): LabHost[] {
    return [...this.#hosts.values()].filter((h) => h.plan.role === 'client').map((h) => h.handle);
  }

  #state(name: string): HostState {
    const h = this.#hosts.get(name);
    if (!h) throw new Error(`no lab host "${name}" (have ${[...this.#hosts.keys()].join(', ')})`);
    return h;
  }

  #hostHandle(plan: HostPlan): LabHost {
    const base = {
      name: plan.name,
      role: plan.role,
      ns: plan.ns,
      iface: plan.iface,
      mac: plan.mac,
      ipv4: plan.ipv4,
      ipv4Cidr: plan.ipv4Cidr,
      ipv6: plan.ipv6,
      ipv6Cidr: plan.ipv6Cidr,
      linkLocalV6: plan.linkLocalV6,
      lanPort: plan.lanPort,
      exec: (cmd: string, args: readonly string[] = [], opts?: RunOptions) => this.exec(plan.ns, [cmd, ...args], opts),
      ip: (args: readonly string[]) => this.ip(plan.ns, args),
      spawn: (cmd: string, args: readonly string[] = [], opts?: LabSpawnOptions) => this.spawnInNs(plan.ns, cmd, args, opts),
      spawnNode: (script: string, args: readonly string[] = [], opts?: LabSpawnOptions) => this.spawnInNs(plan.ns, nodeBinary(), [script, ...args], opts),
      probeHttp: (url: string, opts?: HttpProbeOptions) =>
        startHttpProbe((script, args) => this.spawnInNs(plan.ns, nodeBinary(), [script, ...args]), url, opts),
    };
    if (plan.role === 'client') return base;
    const node: LabNode = { ...base, role: 'node', podCidrV4: plan.podCidrV4!, podCidrV6: plan.podCidrV6 };
    return node;
  }

  // ---- running things ----

  /** Runs argv inside the namespace to completion (bounded, default 15 s); throws on a non-zero exit. */
  exec(ns: NsRef, argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
    this.#alive();
    return execInNamespace(nsOf(ns), argv, opts);
  }

  /** `ip -n <ns> args...` (no process inside the namespace needed). */
  ip(ns: NsRef, args: readonly string[]): Promise<string> {
    this.#alive();
    return ip(nsOf(ns), args);
  }

  /**
   * Starts a program inside the namespace. The lab tracks it: destroy stops
   * it (SIGTERM, then SIGKILL), by pid. Output goes to a log file in logDir
   * unless opts.logFile says otherwise.
   */
  spawnInNs(ns: NsRef, cmd: string, args: readonly string[] = [], opts: LabSpawnOptions = {}): LabProcess {
    this.#alive();
    const name = nsOf(ns);
    const logFile = opts.logFile ?? join(this.logDir, `${this.#shortNs(name)}-${basename(cmd)}-${++this.#logSeq}.log`);
    const proc = new LabProcess(name, [cmd, ...args], logFile, opts);
    this.#processes.add(proc);
    void proc.exited.then(() => this.#processes.delete(proc));
    return proc;
  }

  /** Stops a process the lab started: `signal`, then SIGKILL after `graceMs`. */
  kill(proc: LabProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<ExitStatus> {
    return proc.stop(signal, graceMs);
  }

  /** Every process the lab started that still runs. */
  get processes(): LabProcess[] {
    return [...this.#processes].filter((p) => p.running);
  }

  #shortNs(ns: string): string {
    const own = `${LAB_NS_PREFIX}${this.runId}-`;
    return ns.startsWith(own) ? ns.slice(own.length) : ns;
  }

  // ---- faults ----

  /**
   * Cuts (down) or restores (up) a host's LAN cable.
   * 'carrier' (default): its switch port goes down, so its eth0 loses
   *   carrier too, as when a cable is pulled or a node powers off.
   * 'silent': the switch port stops forwarding (bridge port state disabled)
   *   while the host's link stays up: the host does not notice.
   * The API path is separate (isolateApi): a dead node needs both.
   */
  async setLink(name: string, state: 'down' | 'up', how: LinkCut = 'carrier'): Promise<void> {
    this.#alive();
    const h = this.#state(name).plan;
    if (how === 'carrier') await ip(this.plan.lanNs, ['link', 'set', h.lanPort, state]);
    // `bridge link set` (AF_BRIDGE): `ip link set ... type bridge_slave state`
    // is accepted but leaves an up port forwarding on this kernel.
    else await run(['bridge', '-n', this.plan.lanNs, 'link', 'set', 'dev', h.lanPort, 'state', state === 'down' ? '0' : '3'], { timeoutMs: 10_000 });
  }

  /**
   * Cuts (true) or restores (false) a host's path to the API server.
   * 'refuse' (default): its relay stops; connections close and new ones are refused.
   * 'blackhole': the relay holds every byte and every new connection, as a
   *   partition does; on restore, the held traffic flows on.
   */
  async isolateApi(name: string, isolated: boolean, how: ApiCut = 'refuse'): Promise<void> {
    this.#alive();
    const h = this.#state(name);
    if (!this.#api) throw new Error('this lab has no API server (LabOptions.apiServer)');
    if (isolated) {
      if (h.apiCut) return;
      if (!h.relay) throw new Error(`lab host "${name}" has no API relay`);
      if (how === 'refuse') {
        await h.relay.stop('SIGTERM', 2000);
        h.relay = undefined;
      } else {
        h.relay.signal('SIGUSR1');
      }
      h.apiCut = how;
    } else {
      if (h.apiCut === 'refuse') await this.#startNsRelay(h);
      else if (h.apiCut === 'blackhole') h.relay!.signal('SIGUSR2');
      h.apiCut = false;
    }
  }

  // ---- captures ----

  /**
   * Starts tcpdump on `iface` inside the namespace (tcpdump filter syntax,
   * e.g. 'arp or icmp6'); resolves once it is capturing. The switch's view
   * of everything: lab.capture(lab.lan.ns, lab.lan.bridge).
   */
  async capture(ns: NsRef, iface: string, filter?: string, opts: { readyTimeoutMs?: number } = {}): Promise<Capture> {
    this.#alive();
    const name = nsOf(ns);
    const file = join(this.runDir, `capture-${this.#shortNs(name)}-${iface}-${++this.#logSeq}.pcap`);
    return startCapture((argv) => this.spawnInNs(name, argv[0]!, argv.slice(1)), name, iface, file, filter, opts.readyTimeoutMs);
  }

  // ---- pods ----

  /**
   * A pod on `node`: its own namespace, a veth to the node namespace, the
   * next address of the node's pod CIDR, a /32 (/128) route to it on the
   * node and a default route back through the node. Pods reach their node
   * (and the node them); there is no forwarding beyond the node.
   */
  async addPod(node: string, name: string): Promise<LabPod> {
    this.#alive();
    const h = this.#state(node);
    if (h.pods.has(name)) throw new Error(`pod "${name}" already exists on ${node}`);
    const plan = planPod(this.plan, h.plan, h.podCount + 1, name);
    h.podCount++;
    await ip(undefined, ['netns', 'add', plan.ns]);
    const handle = this.#podHandle(plan);
    h.pods.set(name, { plan, handle });
    await ipBatch(h.plan.ns, podNodeBatch(plan));
    await ipBatch(plan.ns, podBatch(plan));
    return handle;
  }

  pod(node: string, name: string): LabPod {
    const p = this.#state(node).pods.get(name);
    if (!p) throw new Error(`no pod "${name}" on ${node}`);
    return p.handle;
  }

  pods(node: string): LabPod[] {
    return [...this.#state(node).pods.values()].map((p) => p.handle);
  }

  /** Stops the pod's processes and deletes its namespace (its veth and the node's route go with it). */
  async removePod(node: string, name: string): Promise<void> {
    this.#alive();
    const h = this.#state(node);
    const p = h.pods.get(name);
    if (!p) throw new Error(`no pod "${name}" on ${node}`);
    await this.#stopProcesses((proc) => proc.ns === p.plan.ns);
    const report: SweepReport = { runs: [], namespaces: [], killed: [], errors: [] };
    await removeNamespaces([p.plan.ns], report);
    h.pods.delete(name);
    if (report.errors.length) throw new Error(report.errors.join('\n'));
  }

  #podHandle(plan: PodPlan): LabPod {
    const pod: LabPod = {
      name: plan.name,
      node: plan.node,
      ns: plan.ns,
      iface: plan.iface,
      nodeIface: plan.nodeIface,
      ipv4: plan.ipv4,
      ipv6: plan.ipv6,
      exec: (cmd, args = [], opts) => this.exec(plan.ns, [cmd, ...args], opts),
      spawn: (cmd, args = [], opts) => this.spawnInNs(plan.ns, cmd, args, opts),
      spawnNode: (script, args = [], opts) => this.spawnInNs(plan.ns, nodeBinary(), [script, ...args], opts),
      serveHttp: async (port = 8080, opts = {}) => {
        const proc = pod.spawnNode(ECHO_SERVER_SCRIPT, ['--port', String(port), '--name', opts.name ?? plan.name]);
        await proc.waitForOutput('echo-server listening', READY_TIMEOUT_MS);
        return proc;
      },
    };
    return pod;
  }

  // ---- API relays ----

  async #startHostRelay(): Promise<void> {
    const api = this.#api!;
    const proc = new LabProcess(
      undefined,
      [nodeBinary(), RELAY_SCRIPT, '--exit-with-stdin', '--listen', `unix:${this.#apiSocket}`, '--connect', `tcp:${api.host}:${api.port}`],
      join(this.logDir, 'relay-host.log'),
      { stdin: 'pipe' },
    );
    this.#processes.add(proc);
    await proc.waitForOutput('relay ready', READY_TIMEOUT_MS);
  }

  async #startNsRelay(h: HostState): Promise<void> {
    const api = this.#api!;
    const proc = this.spawnInNs(
      h.plan.ns,
      nodeBinary(),
      [RELAY_SCRIPT, '--exit-with-stdin', '--listen', `tcp:${api.host}:${api.port}`, '--connect', `unix:${this.#apiSocket}`],
      { stdin: 'pipe', logFile: join(this.logDir, `relay-${h.plan.name}.log`) },
    );
    await proc.waitForOutput('relay ready', READY_TIMEOUT_MS);
    h.relay = proc;
  }

  // ---- teardown ----

  /**
   * Stops every process the lab started (SIGTERM, SIGKILL after 3 s), kills
   * anything else left inside its namespaces (by pid), deletes the
   * namespaces (and so every veth and the bridge) and the run directory.
   * Tries every step; throws at the end if something could not be removed.
   */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const errors: string[] = [];
    await this.#stopProcesses(() => true, errors);
    const own = `${LAB_NS_PREFIX}${this.runId}-`;
    let namespaces: string[] = [];
    try {
      namespaces = (await listNamespaces()).filter((ns) => ns.startsWith(own));
    } catch (e) {
      errors.push((e as Error).message);
    }
    // Pods first: deleting them removes their veths cleanly before the nodes go.
    namespaces.sort((a, b) => Number(b.includes('.')) - Number(a.includes('.')));
    const report: SweepReport = { runs: [], namespaces: [], killed: [], errors: [] };
    await removeNamespaces(namespaces, report);
    errors.push(...report.errors);
    try {
      const left = (await listNamespaces()).filter((ns) => ns.startsWith(own));
      if (left.length) errors.push(`namespaces left behind: ${left.join(', ')}`);
    } catch (e) {
      errors.push((e as Error).message);
    }
    await rm(this.runDir, { recursive: true, force: true }).catch((e: Error) => errors.push(e.message));
    process.off('exit', this.#onExit);
    if (errors.length) throw new Error(`lab ${this.runId} teardown:\n${errors.join('\n')}`);
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  async #stopProcesses(which: (p: LabProcess) => boolean, errors: string[] = []): Promise<void> {
    const procs = [...this.#processes].filter(which);
    await Promise.all(
      procs.map(async (p) => {
        try {
          await p.stop('SIGTERM', 3000);
        } catch (e) {
          errors.push((e as Error).message);
        }
        this.#processes.delete(p);
      }),
    );
  }

  /** The process is exiting without destroy(): remove what we can, synchronously. */
  #emergencyCleanup(): void {
    for (const p of this.#processes) p.signal('SIGKILL');
    const own = `${LAB_NS_PREFIX}${this.runId}-`;
    const namespaces = [this.plan.lanNs, ...[...this.#hosts.values()].flatMap((h) => [h.plan.ns, ...[...h.pods.values()].map((p) => p.plan.ns)])];
    for (const ns of namespaces) {
      if (!ns.startsWith(own)) continue;
      for (const pid of namespacePidsSync(ns)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 5000 });
    }
    rmSync(this.runDir, { recursive: true, force: true });
  }

  #alive(): void {
    if (this.#destroyed) throw new Error(`lab ${this.runId} is destroyed`);
  }
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] !== 'sweep' || argv.length > 2 || (argv[1] !== undefined && argv[1] !== '--all')) {
    throw new Error('usage: node test/support/lab.ts sweep [--all]   (--all also removes labs whose owner still runs)');
  }
  const report = await sweepLabs({ includeLive: argv[1] === '--all' });
  process.stdout.write(
    `removed ${report.runs.length} lab run(s): ${report.namespaces.length} namespace(s), ${report.killed.length} process(es)\n` +
      report.errors.map((e) => `error: ${e}\n`).join(''),
  );
  if (report.errors.length) process.exitCode = 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  });
}
