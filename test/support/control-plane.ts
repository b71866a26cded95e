// A real Kubernetes control plane (etcd + kube-apiserver) on loopback, for
// tests, `npm run cluster:up` and `npm run demo`. Nothing here is mocked: the
// binaries are built from the Go module proxy by scripts/build-k8s-bins.sh.
//
// There is no kube-controller-manager: nothing creates EndpointSlices or
// default ServiceAccounts, and namespace deletion never finishes. Tests create
// the objects they need and use fresh namespaces.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

import { tokenKubeconfig } from './kubeconfig-text.ts';

const execFileAsync = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Cluster-IP ranges from the documentation/benchmark blocks: never routed, never private LANs. */
export const SERVICE_CIDRS = '198.19.0.0/16,2001:db8:ffff::/112';

export interface ControlPlaneOptions {
  /** Where etcd data, certificates and logs go; a fresh temp dir by default. */
  dir?: string;
  /** Fixed API server port (cluster:up keeps it stable); a free one by default. */
  apiPort?: number;
  /** Bind address for etcd and the API server. */
  host?: string;
  /** Progress lines (binary build, start-up). */
  progress?: (line: string) => void;
}

export interface ControlPlane {
  readonly server: string;
  readonly token: string;
  readonly kubeconfigPath: string;
  readonly kubeconfigYaml: string;
  readonly dir: string;
  readonly binDir: string;
  /** Runs kubectl against this cluster; resolves with stdout. */
  kubectl(args: string[], input?: string): Promise<string>;
  /** Stops the API server only (etcd keeps the data), as in an upgrade or crash. */
  stopApiServer(): Promise<void>;
  /** Starts the API server again on the same port with the same flags. */
  startApiServer(): Promise<void>;
  stop(): Promise<void>;
}

/** Builds (once per machine) or finds the control-plane binaries; returns their directory. */
export async function ensureControlPlaneBinaries(progress: (line: string) => void = () => {}): Promise<string> {
  if (process.env.METALGATE_K8S_BIN && existsSync(join(process.env.METALGATE_K8S_BIN, 'kube-apiserver'))) {
    return process.env.METALGATE_K8S_BIN;
  }
  const child = spawn('bash', [join(repoRoot, 'scripts/build-k8s-bins.sh')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  let errLine = '';
  child.stderr.on('data', (b: Buffer) => {
    errLine += b.toString();
    let nl: number;
    while ((nl = errLine.indexOf('\n')) >= 0) {
      const line = errLine.slice(0, nl);
      errLine = errLine.slice(nl + 1);
      if (line.startsWith('[build-k8s-bins]')) progress(line);
    }
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`scripts/build-k8s-bins.sh failed with exit code ${code}`);
  const lines = out.trim().split('\n');
  return lines[lines.length - 1]!;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const srv = createServer();
  srv.listen(0, host);
  await once(srv, 'listening');
  const addr = srv.address();
  srv.close();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

interface ManagedProcess {
  child: ChildProcess;
  exited: Promise<void>;
}

// util-linux's setpriv sets PR_SET_PDEATHSIG before exec: if the process
// that started the control plane dies without stopping it (a test runner's
// timeout, SIGKILL), the kernel kills etcd and kube-apiserver too instead of
// leaving them running on the machine.
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

function startProcess(bin: string, args: string[], logPath: string): ManagedProcess {
  const log = createWriteStream(logPath, { flags: 'a' });
  const child = SETPRIV
    ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  return { child, exited };
}

async function stopProcess(p: ManagedProcess | undefined, graceMs = 5000): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
}

async function tail(path: string, lines = 30): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Starts of a control plane: its ports are found free, then bound by etcd and
 * the API server, and another process may take one in between (outgoing
 * connections draw from the same ephemeral range). Such a start is made again
 * with new ports.
 */
const START_ATTEMPTS = 3;

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'metalgate-cp-')));
  for (let attempt = 1; ; attempt++) {
    try {
      return await startControlPlaneIn(dir, opts);
    } catch (err) {
      const message = (err as Error).message;
      if (attempt >= START_ATTEMPTS || !message.includes('address already in use')) throw err;
      opts.progress?.(`a port of the control plane was taken meanwhile; starting again with new ports (attempt ${attempt + 1} of ${START_ATTEMPTS})`);
      await rm(join(dir, 'etcd'), { recursive: true, force: true });
    }
  }
}

async function startControlPlaneIn(dir: string, opts: ControlPlaneOptions): Promise<ControlPlane> {
  const progress = opts.progress ?? (() => {});
  const host = opts.host ?? '127.0.0.1';
  const binDir = await ensureControlPlaneBinaries(progress);
  await mkdir(join(dir, 'certs'), { recursive: true });

  const etcdClientPort = await freePort(host);
  const etcdPeerPort = await freePort(host);
  const apiPort = opts.apiPort ?? (await freePort(host));
  const server = `https://${host}:${apiPort}`;

  // Static admin token (system:masters bypasses RBAC); components under test
  // get their own ServiceAccount tokens through the TokenRequest API.
  const token = randomBytes(24).toString('hex');
  const tokenFile = join(dir, 'tokens.csv');
  await writeFile(tokenFile, `${token},metalgate-admin,metalgate-admin,"system:masters"\n`, { mode: 0o600 });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saKey = join(dir, 'certs/sa.key');
  const saPub = join(dir, 'certs/sa.pub');
  await writeFile(saKey, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
  await writeFile(saPub, publicKey.export({ type: 'spki', format: 'pem' }));

  progress(`starting etcd on ${host}:${etcdClientPort}`);
  const etcd = startProcess(
    join(binDir, 'etcd'),
    [
      '--name=metalgate-test',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://${host}:${etcdClientPort}`,
      `--advertise-client-urls=http://${host}:${etcdClientPort}`,
      `--listen-peer-urls=http://${host}:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://${host}:${etcdPeerPort}`,
      `--initial-cluster=metalgate-test=http://${host}:${etcdPeerPort}`,
      '--unsafe-no-fsync', // test data: durability is not the point, speed is
      '--log-level=warn',
    ],
    join(dir, 'etcd.log'),
  );

  const apiArgs = [
    `--etcd-servers=http://${host}:${etcdClientPort}`,
    `--bind-address=${host}`,
    `--advertise-address=${host}`,
    `--secure-port=${apiPort}`,
    `--cert-dir=${join(dir, 'certs')}`,
    `--token-auth-file=${tokenFile}`,
    '--authorization-mode=RBAC',
    '--anonymous-auth=false',
    `--service-account-issuer=https://kubernetes.default.svc`,
    `--service-account-key-file=${saPub}`,
    `--service-account-signing-key-file=${saKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDRS}`,
    // No controller-manager creates default ServiceAccounts, so the admission
    // plugin that requires them would refuse every Pod.
    '--disable-admission-plugins=ServiceAccount',
    '--profiling=false',
    '--v=1',
  ];
  let api: ManagedProcess | undefined;
  const apiLog = join(dir, 'kube-apiserver.log');

  const startApiServer = async (): Promise<void> => {
    progress(`starting kube-apiserver on ${server}`);
    api = startProcess(join(binDir, 'kube-apiserver'), apiArgs, apiLog);
    await waitReady(server, token, api, apiLog);
  };
  try {
    await startApiServer();
  } catch (err) {
    await stopProcess(api);
    await stopProcess(etcd);
    throw new Error(`${(err as Error).message}\n--- etcd.log ---\n${await tail(join(dir, 'etcd.log'))}`);
  }

  const ca = await readFile(join(dir, 'certs/apiserver.crt'));
  const kubeconfigYaml = tokenKubeconfig(server, { pem: ca }, 'admin', token);
  const kubeconfigPath = join(dir, 'kubeconfig');
  await writeFile(kubeconfigPath, kubeconfigYaml, { mode: 0o600 });
  progress(`control plane ready: ${server} (kubeconfig ${kubeconfigPath})`);

  let stopped = false;
  return {
    server,
    token,
    kubeconfigPath,
    kubeconfigYaml,
    dir,
    binDir,
    async kubectl(args, input) {
      const child = execFileAsync(join(binDir, 'kubectl'), [`--kubeconfig=${kubeconfigPath}`, ...args], {
        maxBuffer: 64 << 20,
      });
      if (input !== undefined) {
        child.child.stdin!.end(input);
      }
      const { stdout } = await child;
      return stdout;
    },
    async stopApiServer() {
      await stopProcess(api);
    },
    startApiServer,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopProcess(api);
      await stopProcess(etcd);
      if (!opts.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until /readyz answers 200, or fails with the tail of the log. */
async function waitReady(server: string, token: string, proc: ManagedProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  const { Agent, request } = await import('undici');
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  try {
    while (Date.now() < deadline) {
      if (proc.child.exitCode !== null) {
        throw new Error(`kube-apiserver exited with code ${proc.child.exitCode}\n${await tail(logPath)}`);
      }
      try {
        const res = await request(`${server}/readyz`, {
          dispatcher,
          headers: { authorization: `Bearer ${token}` },
          headersTimeout: 2000,
          bodyTimeout: 2000,
        });
        await res.body.text();
        if (res.statusCode === 200) return;
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
    throw new Error(`kube-apiserver not ready after 90 s\n${await tail(logPath)}`);
  } finally {
    await dispatcher.close();
  }
}
