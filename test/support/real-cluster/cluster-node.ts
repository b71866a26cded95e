// One node of a real-kubelet test cluster: containerd, the kubelet and
// kube-proxy in the node's network namespace and in one mount namespace of
// their own, shared by the three, so the kubelet's volume mounts (the
// ServiceAccount token among them) are what runc sees.
//
// The mount namespace is held open by a `sleep` (the holder) and prepared
// before anything starts:
//   - a sysfs of the node's network namespace on /sys, with the machine's
//     cgroup hierarchies bound back on /sys/fs/cgroup (a fresh sysfs hides them);
//   - the kernel tunables the kubelet insists on (vm.overcommit_memory,
//     kernel.panic, ...) shown with the kubelet's values through bind mounts
//     over their /proc/sys files, so the kubelet never writes the machine's.
// Every process is started here, so stop() ends them by pid: what runs in the
// node's mount namespace (containerd, its shims, the kubelet, kube-proxy) and
// what runs in the node's cgroups (the containers).

import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { LabProcess } from '../lab-process.ts';
import { run } from '../netns-exec.ts';
import { tokenKubeconfig } from '../kubeconfig-text.ts';
import { containerdConfig, cniConfig, kubeletConfig, kubeProxyConfig } from './node-files.ts';
import type { NodePlan } from './plan.ts';

/** The kubelet's kernel tunables (pkg/kubelet/cm setupKernelTunables): path under /proc/sys, value. */
const KUBELET_TUNABLES: readonly (readonly [string, string])[] = [
  ['vm/overcommit_memory', '1'],
  ['vm/panic_on_oom', '0'],
  ['kernel/panic', '10'],
  ['kernel/panic_on_oops', '1'],
  ['kernel/keys/root_maxkeys', '1000000'],
  ['kernel/keys/root_maxbytes', '25000000'],
];

const CGROUP_ROOT = '/sys/fs/cgroup';

export interface NodeStartOptions {
  plan: NodePlan;
  /** The node's network namespace (the lab's). */
  ns: string;
  nodeIp: string;
  binDir: string;
  server: string;
  caFile: string;
  kubeletToken: string;
  kubeProxyToken: string;
  /** docker-archive tarballs imported into containerd before the kubelet starts. */
  images: readonly string[];
  logDir: string;
  progress: (line: string) => void;
}

function holderScript(dir: string): string {
  const lines = [
    'set -eu',
    `R=${dir}/mnt`,
    'mkdir -p "$R/cgroup"',
    `mount --rbind ${CGROUP_ROOT} "$R/cgroup"`,
    'mount -t sysfs sysfs /sys',
    `mount --move "$R/cgroup" ${CGROUP_ROOT}`,
  ];
  for (const [key, value] of KUBELET_TUNABLES) {
    const file = `"$R/sysctl-${key.replaceAll('/', '.')}"`;
    lines.push(`if [ "$(cat /proc/sys/${key})" != "${value}" ]; then echo ${value} > ${file}; mount --bind ${file} /proc/sys/${key}; fi`);
  }
  lines.push('echo holder ready', 'exec sleep infinity');
  return lines.join('\n');
}

export class ClusterNode {
  readonly plan: NodePlan;
  readonly ns: string;
  readonly nodeIp: string;
  readonly #opts: NodeStartOptions;
  #holder: LabProcess | undefined;
  #containerd: LabProcess | undefined;
  #kubelet: LabProcess | undefined;
  #kubeProxy: LabProcess | undefined;

  constructor(opts: NodeStartOptions) {
    this.plan = opts.plan;
    this.ns = opts.ns;
    this.nodeIp = opts.nodeIp;
    this.#opts = opts;
  }

  get name(): string {
    return this.plan.name;
  }

  get kubelet(): LabProcess | undefined {
    return this.#kubelet;
  }

  get containerdSocket(): string {
    return join(this.plan.dir, 'containerd.sock');
  }

  #spawn(name: string, argv: readonly string[]): LabProcess {
    const holder = this.#holder;
    if (!holder?.running) throw new Error(`node ${this.name}: its namespace holder is gone`);
    return new LabProcess(undefined, ['nsenter', '-t', String(holder.pid), '-m', '-n', '--', ...argv], join(this.#opts.logDir, `${this.name}-${name}.log`));
  }

  /** Runs a program to completion inside the node's namespaces. */
  async exec(argv: readonly string[], timeoutMs = 30_000): Promise<string> {
    const holder = this.#holder;
    if (!holder?.running) throw new Error(`node ${this.name}: its namespace holder is gone`);
    return (await run(['nsenter', '-t', String(holder.pid), '-m', '-n', '--', ...argv], { timeoutMs })).stdout;
  }

  async start(): Promise<void> {
    const o = this.#opts;
    const d = this.plan.dir;
    const t0 = Date.now();
    await mkdir(join(d, 'cni/net.d'), { recursive: true });
    await mkdir(join(d, 'kubelet'), { recursive: true });
    await mkdir(join(d, 'pod-logs'), { recursive: true });
    await writeFile(join(d, 'containerd.toml'), containerdConfig(this.plan));
    await writeFile(join(d, 'cni/net.d/10-metalgate-test.conflist'), cniConfig(this.plan));
    // No cluster DNS: pods get an empty resolver file instead of the machine's.
    await writeFile(join(d, 'resolv.conf'), '');
    const kubeletKc = join(d, 'kubelet.kubeconfig');
    const proxyKc = join(d, 'kube-proxy.kubeconfig');
    await writeFile(kubeletKc, tokenKubeconfig(o.server, { file: o.caFile }, `system:node:${this.name}`, o.kubeletToken), { mode: 0o600 });
    await writeFile(proxyKc, tokenKubeconfig(o.server, { file: o.caFile }, 'system:kube-proxy', o.kubeProxyToken), { mode: 0o600 });
    await writeFile(
      join(d, 'kubelet.yaml'),
      kubeletConfig(this.plan, { clientCaFile: o.caFile, resolvConf: join(d, 'resolv.conf'), podLogsDir: join(d, 'pod-logs') }),
    );
    await writeFile(join(d, 'kube-proxy.yaml'), kubeProxyConfig(this.plan, this.nodeIp, proxyKc));
    // The kubelet wants its cgroup root to exist in every hierarchy.
    for (const h of await cgroupHierarchies()) await mkdir(join(h, this.plan.cgroupRoot), { recursive: true });

    this.#holder = new LabProcess(
      undefined,
      ['nsenter', `--net=/run/netns/${this.ns}`, '--', 'unshare', '--mount', '--propagation', 'private', '--', 'bash', '-c', holderScript(d)],
      join(o.logDir, `${this.name}-holder.log`),
    );
    await this.#holder.waitForOutput('holder ready', 10_000);

    this.#containerd = this.#spawn('containerd', ['containerd', '--config', join(d, 'containerd.toml'), '--log-level', 'warn']);
    const deadline = Date.now() + 20_000;
    while (!existsSync(this.containerdSocket)) {
      if (!this.#containerd.running) throw new Error(`node ${this.name}: containerd exited\n${this.#containerd.output().slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`node ${this.name}: containerd did not open its socket in 20 s`);
      await sleep(100);
    }
    for (const image of o.images) {
      await run(['ctr', '--address', this.containerdSocket, '-n', 'k8s.io', 'images', 'import', image], { timeoutMs: 180_000 });
    }
    o.progress(`${this.name}: containerd up, ${o.images.length} images imported (${Date.now() - t0} ms)`);

    this.startKubelet();
    this.#kubeProxy = this.#spawn('kube-proxy', [join(o.binDir, 'kube-proxy'), `--config=${join(d, 'kube-proxy.yaml')}`, '--v=1']);
  }

  /** Starts the kubelet (again, after stopKubelet). */
  startKubelet(): void {
    const o = this.#opts;
    const d = this.plan.dir;
    this.#kubelet = this.#spawn('kubelet', [
      join(o.binDir, 'kubelet'),
      `--config=${join(d, 'kubelet.yaml')}`,
      `--kubeconfig=${join(d, 'kubelet.kubeconfig')}`,
      `--root-dir=${join(d, 'kubelet')}`,
      `--cert-dir=${join(d, 'kubelet/pki')}`,
      `--hostname-override=${this.name}`,
      `--node-ip=${this.nodeIp}`,
      '--v=1',
    ]);
  }

  async stopKubelet(): Promise<void> {
    await this.#kubelet?.stop('SIGTERM', 5000);
  }

  /** Ends everything of this node by pid, then removes its cgroups and files. */
  async stop(): Promise<void> {
    await this.#kubeProxy?.stop('SIGTERM', 2000).catch(() => {});
    await this.#kubelet?.stop('SIGTERM', 2000).catch(() => {});
    const holder = this.#holder;
    for (let round = 0; round < 5; round++) {
      const pids = new Set<number>([...(await this.#cgroupPids()), ...(holder ? await pidsInMountNs(holder.pid) : [])]);
      if (holder) pids.delete(holder.pid);
      if (pids.size === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await sleep(200);
    }
    await this.#containerd?.exited;
    await holder?.stop('SIGKILL').catch(() => {});
    await this.#removeCgroups();
  }

  async #cgroupPids(): Promise<number[]> {
    const pids: number[] = [];
    for (const h of await cgroupHierarchies()) {
      const root = join(h, this.plan.cgroupRoot);
      for (const dir of await walkDirs(root)) {
        const text = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
        for (const line of text.split('\n')) if (line.trim()) pids.push(Number(line));
      }
    }
    return pids;
  }

  async #removeCgroups(): Promise<void> {
    for (const h of await cgroupHierarchies()) {
      const dirs = await walkDirs(join(h, this.plan.cgroupRoot));
      for (const dir of dirs.reverse()) await rmdir(dir).catch(() => {});
    }
  }

  /** Removes the node's directory (after stop). */
  async removeFiles(): Promise<void> {
    await rm(this.plan.dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** Mounted cgroup hierarchies (v1 controllers and the v2 tree), as directories. */
export async function cgroupHierarchies(): Promise<string[]> {
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  return mounts
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[2] === 'cgroup' || f[2] === 'cgroup2')
    .map((f) => f[1]!)
    .filter((p) => p.startsWith(CGROUP_ROOT));
}

/** `root` and every directory below it, parents before children. */
async function walkDirs(root: string): Promise<string[]> {
  if (!existsSync(root)) return [];
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    const entries = await readdir(out[i]!, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) out.push(join(out[i]!, e.name));
  }
  return out;
}

/** Pids whose mount namespace is that of `pid`. */
async function pidsInMountNs(pid: number): Promise<number[]> {
  const target = await readlink(`/proc/${pid}/ns/mnt`).catch(() => undefined);
  if (!target) return [];
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const ns = await readlink(`/proc/${name}/ns/mnt`).catch(() => undefined);
    if (ns === target) out.push(Number(name));
  }
  return out;
}
