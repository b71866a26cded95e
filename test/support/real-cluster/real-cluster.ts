// A real Kubernetes cluster on one machine, for tests and `npm run
// cluster:up -- --nodes N`: etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler in a control-plane namespace; on each node namespace
// containerd, a kubelet and kube-proxy (cluster-node.ts); a client namespace
// on the same LAN. Nothing is simulated: pods are containers that runc starts
// from images built by scripts/build-images.sh (the product's image from its
// Dockerfile among them), Services go through kube-proxy's iptables rules.
//
// Layout and addresses: plan.ts. The LAN is the lab's (../lab.ts). The host
// reaches the API server through a relay (a Unix socket into the
// control-plane namespace), so no host interface is touched.
//
//   const cluster = await startRealCluster({ nodes: 2, progress: console.log });
//   try { await cluster.kubectl(['get', 'nodes']); } finally { await cluster.stop(); }

import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { Lab, RELAY_SCRIPT, type LabHost, type LabNode } from '../lab.ts';
import type { LabProcess } from '../lab-process.ts';
import { hasProgram, labSkipReason, repoRoot } from '../netns-exec.ts';
import { startRelay, type Relay } from '../relay.ts';
import { ClusterNode } from './cluster-node.ts';
import { tokenKubeconfig } from '../kubeconfig-text.ts';
import { makeClusterPki } from './pki.ts';
import { API_PORT, CLIENT, CONTROL_PLANE, KUBERNETES_SERVICE_IP, nodeNames, planCluster, SERVICE_CIDR, type ClusterPlan } from './plan.ts';

export interface RealClusterOptions {
  /** Worker nodes (default 2). */
  nodes?: number;
  /** Where the cluster's files go (default: a new directory under the temp dir, removed by stop). */
  dir?: string;
  progress?: (line: string) => void;
}

export interface RealCluster {
  readonly plan: ClusterPlan;
  readonly lab: Lab;
  readonly binDir: string;
  /** The API server as the host reaches it (relay on loopback). */
  readonly server: string;
  /** Admin kubeconfig for the host. */
  readonly kubeconfigPath: string;
  /** Where logs go: the control plane's, each node's containerd, kubelet and kube-proxy. */
  readonly logDir: string;
  readonly client: LabHost;
  readonly nodes: readonly ClusterNode[];
  labNode(name: string): LabNode;
  /** kubectl against this cluster; resolves with stdout, rejects with stderr on a non-zero exit. */
  kubectl(args: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** The Service's first status.loadBalancer.ingress IP, if it has one. */
  externalIp(namespace: string, name: string): Promise<string | undefined>;
  /** The node whose holder device (metalgate0) carries `ip`: the first one found. */
  ownerOf(ip: string): Promise<string | undefined>;
  stop(): Promise<void>;
}

/** Why a real-kubelet cluster cannot run here, or null. */
export function realClusterSkipReason(): string | null {
  const lab = labSkipReason();
  if (lab !== null) return lab;
  for (const [program, pkg] of [
    ['containerd', 'containerd'],
    ['runc', 'runc'],
    ['ctr', 'containerd'],
    ['buildah', 'buildah'],
    ['mmdebstrap', 'mmdebstrap'],
    ['iptables', 'iptables'],
    ['openssl', 'openssl'],
    ['nsenter', 'util-linux'],
    ['go', 'Go, to build the Kubernetes binaries'],
  ] as const) {
    if (!hasProgram(program)) return `needs ${program} (${pkg})`;
  }
  if (!existsSync('/usr/lib/cni/bridge')) return 'needs the CNI plugins in /usr/lib/cni (containernetworking-plugins)';
  return null;
}

/** Runs a build script, forwarding its "[tag] ..." progress lines; resolves with its last stdout line. */
export async function runBuildScript(script: string, args: readonly string[], progress: (line: string) => void): Promise<string> {
  const child = spawn('bash', [join(repoRoot, 'scripts', script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let errTail = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString();
    errTail = (errTail + b.toString()).slice(-8000);
    let nl: number;
    while ((nl = err.indexOf('\n')) >= 0) {
      const line = err.slice(0, nl);
      err = err.slice(nl + 1);
      if (/^\[build-[a-z0-9-]+\]/.test(line)) progress(line);
    }
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`scripts/${script} ${args.join(' ')} failed with exit code ${code}\n${errTail}`);
  return out.trim().split('\n').pop()!;
}

/** The node binaries and the images, built once per machine; returns [binDir, image tarballs]. */
export async function ensureRealClusterArtifacts(progress: (line: string) => void): Promise<{ binDir: string; images: string[] }> {
  const binDir = await runBuildScript('build-k8s-bins.sh', ['--nodes'], progress);
  const imageDir = await runBuildScript('build-images.sh', [], progress);
  const images = (await readdir(imageDir)).filter((f) => f.endsWith('.tar')).map((f) => join(imageDir, f));
  return { binDir, images };
}

function token(): string {
  return randomBytes(24).toString('hex');
}

export async function startRealCluster(opts: RealClusterOptions = {}): Promise<RealCluster> {
  const progress = opts.progress ?? (() => {});
  const cannot = realClusterSkipReason();
  if (cannot !== null) throw new Error(`a real-kubelet cluster ${cannot}`);
  const t0 = Date.now();
  const { binDir, images } = await ensureRealClusterArtifacts(progress);
  const names = nodeNames(opts.nodes ?? 2);
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'metalgate-cluster-')));
  const logDir = join(dir, 'logs');
  await mkdir(logDir, { recursive: true });

  const lab = await Lab.create({ nodes: names, clients: [CLIENT, CONTROL_PLANE], ipv6: false, logDir, progress });
  const plan = planCluster(lab.runId, dir, lab.nodes.map((n) => ({ name: n.name, podCidr: n.podCidrV4 })));
  const nodes: ClusterNode[] = [];
  const cpProcs: LabProcess[] = [];
  let hostRelay: Relay | undefined;
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(nodes.map((n) => n.stop().catch(() => {})));
    for (const p of cpProcs.reverse()) await p.stop('SIGTERM', 3000).catch(() => {});
    await hostRelay?.close().catch(() => {});
    await lab.destroy().catch(() => {});
    await Promise.all(nodes.map((n) => n.removeFiles()));
    if (!opts.dir) await rm(dir, { recursive: true, force: true }).catch(() => {});
  };

  try {
    const cp = lab.client(CONTROL_PLANE);
    const client = lab.client(CLIENT);
    // Pod ranges are routed to their nodes from every host; a node's route to
    // the Service range is what its default route would be on a real LAN.
    await Promise.all(
      [client, cp, ...lab.nodes].map(async (h) => {
        const lines = lab.nodes.filter((n) => n.name !== h.name).map((n) => `route add ${n.podCidrV4} via ${n.ipv4}`);
        if (h.role === 'node') lines.push(`route add ${SERVICE_CIDR} dev ${h.iface}`);
        for (const l of lines) await h.ip(l.split(' '));
        if (h.role === 'node') await h.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
      }),
    );

    const pki = await makeClusterPki(join(dir, 'pki'), [cp.ipv4, KUBERNETES_SERVICE_IP, '127.0.0.1'], ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost']);
    const tokens = { admin: token(), kubeProxy: token(), nodes: new Map(names.map((n) => [n, token()])) };
    const tokenFile = join(dir, 'tokens.csv');
    await writeFile(
      tokenFile,
      [
        `${tokens.admin},metalgate-admin,metalgate-admin,"system:masters"`,
        `${tokens.kubeProxy},system:kube-proxy,system:kube-proxy`,
        ...names.map((n) => `${tokens.nodes.get(n)},system:node:${n},system:node:${n},"system:nodes"`),
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const cpServer = `https://127.0.0.1:${API_PORT}`;
    const lanServer = `https://${cp.ipv4}:${API_PORT}`;
    const cpKubeconfig = join(dir, 'admin-cp.kubeconfig');
    await writeFile(cpKubeconfig, tokenKubeconfig(cpServer, { file: pki.caCert }, 'metalgate-admin', tokens.admin), { mode: 0o600 });

    progress(`control plane in ${cp.ns} (${cp.ipv4})`);
    cpProcs.push(
      cp.spawn(join(binDir, 'etcd'), [
        '--name=cp',
        `--data-dir=${join(dir, 'etcd')}`,
        '--listen-client-urls=http://127.0.0.1:2379',
        '--advertise-client-urls=http://127.0.0.1:2379',
        '--listen-peer-urls=http://127.0.0.1:2380',
        '--initial-advertise-peer-urls=http://127.0.0.1:2380',
        '--initial-cluster=cp=http://127.0.0.1:2380',
        '--unsafe-no-fsync',
        '--log-level=warn',
      ], { logFile: join(logDir, 'etcd.log') }),
    );
    const api = cp.spawn(join(binDir, 'kube-apiserver'), [
      '--etcd-servers=http://127.0.0.1:2379',
      `--advertise-address=${cp.ipv4}`,
      '--bind-address=0.0.0.0',
      `--secure-port=${API_PORT}`,
      `--tls-cert-file=${pki.apiCert}`,
      `--tls-private-key-file=${pki.apiKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--kubelet-client-certificate=${pki.kubeletClientCert}`,
      `--kubelet-client-key=${pki.kubeletClientKey}`,
      // Reach kubelets (logs, exec) at their node address, never by resolving
      // node names through the machine's DNS.
      '--kubelet-preferred-address-types=InternalIP',
      `--token-auth-file=${tokenFile}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      '--allow-privileged=true',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--profiling=false',
      '--v=1',
    ], { logFile: join(logDir, 'kube-apiserver.log') });
    cpProcs.push(api);
    const deadline = Date.now() + 90_000;
    for (;;) {
      const ok = await cp
        .exec('curl', ['-sf', '-m', '2', '--cacert', pki.caCert, '-H', `authorization: Bearer ${tokens.admin}`, `${cpServer}/readyz`])
        .then(() => true, () => false);
      if (ok) break;
      if (!api.running || Date.now() > deadline) throw new Error(`kube-apiserver did not become ready\n${api.output().slice(-4000)}`);
      await sleep(300);
    }
    progress(`kube-apiserver ready at ${lanServer} (${Date.now() - t0} ms)`);
    cpProcs.push(
      cp.spawn(join(binDir, 'kube-controller-manager'), [
        `--kubeconfig=${cpKubeconfig}`,
        `--service-account-private-key-file=${pki.saKey}`,
        `--root-ca-file=${pki.caCert}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        '--v=1',
      ], { logFile: join(logDir, 'kube-controller-manager.log') }),
      cp.spawn(join(binDir, 'kube-scheduler'), [`--kubeconfig=${cpKubeconfig}`, '--leader-elect=false', '--bind-address=127.0.0.1', '--v=1'], {
        logFile: join(logDir, 'kube-scheduler.log'),
      }),
    );

    // The host's way in: host loopback -> Unix socket -> the API server in the cp namespace.
    const apiSock = join(dir, 'api.sock');
    const nsRelay = cp.spawnNode(RELAY_SCRIPT, ['--exit-with-stdin', '--listen', `unix:${apiSock}`, '--connect', `tcp:127.0.0.1:${API_PORT}`], {
      stdin: 'pipe',
      logFile: join(logDir, 'api-relay.log'),
    });
    cpProcs.push(nsRelay);
    await nsRelay.waitForOutput('relay ready', 10_000);
    hostRelay = await startRelay({ kind: 'tcp', host: '127.0.0.1', port: 0 }, { kind: 'unix', path: apiSock });
    const hostPort = hostRelay.listening.kind === 'tcp' ? hostRelay.listening.port : 0;
    const server = `https://127.0.0.1:${hostPort}`;
    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, tokenKubeconfig(server, { file: pki.caCert }, 'metalgate-admin', tokens.admin), { mode: 0o600 });

    for (const n of plan.nodes) {
      const labNode = lab.node(n.name);
      nodes.push(
        new ClusterNode({
          plan: n,
          ns: labNode.ns,
          nodeIp: labNode.ipv4,
          binDir,
          server: lanServer,
          caFile: pki.caCert,
          kubeletToken: tokens.nodes.get(n.name)!,
          kubeProxyToken: tokens.kubeProxy,
          images,
          logDir,
          progress,
        }),
      );
    }
    await Promise.all(nodes.map((n) => n.start()));

    const kubectl = (args: readonly string[], o: { input?: string; timeoutMs?: number } = {}): Promise<string> =>
      new Promise((resolve, reject) => {
        const child = execFile(
          join(binDir, 'kubectl'),
          [`--kubeconfig=${kubeconfigPath}`, ...args],
          { timeout: o.timeoutMs ?? 60_000, killSignal: 'SIGKILL', maxBuffer: 64 << 20, encoding: 'utf8' },
          (err, stdout, stderr) => {
            if (err) reject(new Error(`kubectl ${args.join(' ')}: ${stderr.trim() || err.message}`));
            else resolve(stdout);
          },
        );
        child.stdin?.on('error', () => {});
        child.stdin?.end(o.input ?? '');
      });

    await waitNodesReady(kubectl, names, 120_000, (name) => logTail(join(logDir, `${name}-kubelet.log`), 40));
    progress(`cluster up: ${names.length} node(s) Ready (${((Date.now() - t0) / 1000).toFixed(1)} s); KUBECONFIG=${kubeconfigPath}`);

    const externalIp = async (namespace: string, name: string): Promise<string | undefined> => {
      const svc = JSON.parse(await kubectl(['-n', namespace, 'get', 'svc', name, '-o', 'json'])) as { status: { loadBalancer?: { ingress?: { ip: string }[] } } };
      return svc.status.loadBalancer?.ingress?.[0]?.ip;
    };
    const ownerOf = async (ip: string): Promise<string | undefined> => {
      for (const n of nodes) {
        const out = await lab.node(n.name).ip(['-o', 'addr', 'show', 'dev', 'metalgate0']).catch(() => '');
        if (out.includes(` ${ip}/`)) return n.name;
      }
      return undefined;
    };

    return {
      plan,
      lab,
      binDir,
      server,
      kubeconfigPath,
      logDir,
      client,
      nodes,
      labNode: (name) => lab.node(name),
      kubectl,
      externalIp,
      ownerOf,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

type NodeList = { items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } }[] };

/** Waits for every node's Ready condition; on timeout the error says, per node, why not, with the end of its kubelet's log. */
async function waitNodesReady(
  kubectl: RealCluster['kubectl'],
  names: readonly string[],
  timeoutMs: number,
  kubeletLogTail: (node: string) => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let notReady = new Map<string, string>(names.map((n) => [n, 'not registered']));
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      const list = JSON.parse(await kubectl(['get', 'nodes', '-o', 'json'])) as NodeList;
      const next = new Map<string, string>(names.map((n) => [n, 'not registered']));
      for (const n of list.items) {
        if (!next.has(n.metadata.name)) continue;
        const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
        if (ready?.status === 'True') next.delete(n.metadata.name);
        else next.set(n.metadata.name, ready ? `${ready.status} ${ready.reason ?? ''}: ${ready.message ?? ''}` : 'no Ready condition yet');
      }
      notReady = next;
      lastError = '';
      if (notReady.size === 0) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await sleep(1000);
  }
  const why = await Promise.all(
    [...notReady].map(async ([name, state]) => `${name}: ${state}\n--- end of ${name}'s kubelet log ---\n${await kubeletLogTail(name)}`),
  );
  throw new Error(`nodes not Ready after ${timeoutMs / 1000} s${lastError ? ` (last kubectl error: ${lastError})` : ''}\n${why.join('\n')}`);
}

/** The last `lines` lines of a log file, or why there are none. */
async function logTail(path: string, lines: number): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).split('\n').slice(-lines - 1).join('\n');
  } catch (err) {
    return `(no log: ${(err as Error).message})`;
  }
}
