// Shared by the manifest tests: kubectl with exit codes, ServiceAccount
// kubeconfigs made from TokenRequest tokens, the real CLI as a process, and
// the manifests read as objects.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments, parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import * as k8s from '@kubernetes/client-node';
import { apiStatus } from '../../../src/kube/client.ts';
import { kubeConfigFromString } from '../../support/kube-config.ts';
import type { ControlPlane } from '../../support/control-plane.ts';

export const repoRoot = join(import.meta.dirname, '../../..');
export const manifestsDir = join(repoRoot, 'manifests');
export const NAMESPACE = 'metalgate-system';
const cliPath = join(repoRoot, 'src/cli.ts');

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** kubectl against the test cluster as admin; never throws on a non-zero exit. */
export function kubectl(cp: ControlPlane, args: string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      join(cp.binDir, 'kubectl'),
      [`--kubeconfig=${cp.kubeconfigPath}`, ...args],
      { maxBuffer: 64 << 20, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin!.end(input ?? '');
  });
}

/** kubectl that must succeed: resolves with stdout, else throws with stderr. */
export async function kubectlOk(cp: ControlPlane, args: string[], input?: string): Promise<string> {
  const r = await kubectl(cp, args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

export function serviceAccountUser(name: string): string {
  return `system:serviceaccount:${NAMESPACE}:${name}`;
}

/**
 * `kubectl auth can-i <query> --as=<the ServiceAccount>`, the query as typed
 * on the command line ("patch services --subresource=status",
 * "get leases.coordination.k8s.io/x -n ns"); all namespaces unless -n.
 */
export async function canI(cp: ControlPlane, sa: string, query: string): Promise<boolean> {
  const args = ['auth', 'can-i', ...query.split(' '), `--as=${serviceAccountUser(sa)}`];
  if (!args.includes('-n')) args.push('--all-namespaces');
  const r = await kubectl(cp, args);
  const answer = r.stdout.trim();
  if ((answer !== 'yes' && answer !== 'no') || r.stderr.includes('Warning')) throw new Error(`kubectl ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return answer === 'yes';
}

/** Answers of canI for each query, as "query: yes|no" lines (readable diffs). */
export async function canIAll(cp: ControlPlane, sa: string, queries: string[]): Promise<string[]> {
  return Promise.all(queries.map(async (q) => `${q}: ${(await canI(cp, sa, q)) ? 'yes' : 'no'}`));
}

export interface ServiceAccountCredentials {
  token: string;
  kubeconfigPath: string;
  kc: k8s.KubeConfig;
}

/**
 * A token from the TokenRequest API (`kubectl create token`), optionally
 * bound to a Pod (then the API server adds the Pod's node to the identity),
 * and a kubeconfig that uses only that token.
 */
export async function serviceAccountCredentials(
  cp: ControlPlane,
  sa: string,
  opts: { boundPod?: string; file?: string } = {},
): Promise<ServiceAccountCredentials> {
  const args = ['create', 'token', sa, `--namespace=${NAMESPACE}`, '--duration=1h'];
  if (opts.boundPod) args.push('--bound-object-kind=Pod', `--bound-object-name=${opts.boundPod}`);
  const token = (await kubectlOk(cp, args)).trim();
  const config = parseYaml(cp.kubeconfigYaml) as { users: Array<{ name: string; user: Record<string, unknown> }> };
  config.users = [{ name: 'admin', user: { token } }];
  const yaml = stringifyYaml(config);
  const kubeconfigPath = join(cp.dir, opts.file ?? `kubeconfig-${sa}${opts.boundPod ? `-${opts.boundPod}` : ''}`);
  await writeFile(kubeconfigPath, yaml, { mode: 0o600 });
  return { token, kubeconfigPath, kc: kubeConfigFromString(yaml) };
}

/** Resolves with the HTTP status the API answered (200 for success). */
export async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (err) {
    const status = apiStatus(err);
    if (status === undefined) throw err;
    return status;
  }
}

/** The API's message for a refused call (RBAC or admission). */
export async function refusal(call: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await call;
  } catch (err) {
    const status = apiStatus(err);
    if (status === undefined) throw err;
    const body = (err as { body?: unknown }).body;
    const parsed = typeof body === 'string' ? (JSON.parse(body) as { message?: string }) : (body as { message?: string } | undefined);
    return { status, message: parsed?.message ?? '' };
  }
  return { status: 200, message: '' };
}

export interface CliProcess {
  readonly child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** JSON log lines so far. */
  logs(): Array<Record<string, unknown>>;
  /** SIGTERM, then the exit code (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>;
}

/** `node src/cli.ts <args>` with the given environment on top of ours (KUBECONFIG removed). */
export function startCli(args: string[], env: Record<string, string>): CliProcess {
  const base = { ...process.env };
  delete base.KUBECONFIG;
  for (const k of Object.keys(base)) if (k.startsWith('METALGATE_')) delete base[k];
  const child = spawn(process.execPath, [cliPath, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return {
    child,
    output: () => out,
    logs: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          try {
            return JSON.parse(l) as Record<string, unknown>;
          } catch {
            return { unparsed: l };
          }
        }),
    async stop(graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const [code] = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Runs a CLI command to completion (validate, --help). */
export async function runCli(args: string[]): Promise<{ code: number | null; output: string }> {
  const p = startCli(args, {});
  const [code] = (await once(p.child, 'exit')) as [number | null];
  return { code, output: p.output() };
}

/** Defaults of a command's flags as its --help prints them: flag name -> default text. */
export async function flagDefaults(command: string): Promise<Map<string, { default?: string; env: string[] }>> {
  const { code, output } = await runCli([command, '--help']);
  if (code !== 0) throw new Error(`metalgate ${command} --help exited ${code}: ${output}`);
  const flags = new Map<string, { default?: string; env: string[] }>();
  for (const line of output.split('\n')) {
    const m = /^\s+(?:-\w, )?--([\w-]+)/.exec(line);
    if (!m) continue;
    const def = /\(default ([^)]*)\)/.exec(line);
    const env = /\[env ([^\]]*)\]/.exec(line);
    flags.set(m[1]!, {
      ...(def ? { default: def[1]!.replace(/^"(.*)"$/, '$1') } : {}),
      env: env ? env[1]!.split(' or ') : [],
    });
  }
  return flags;
}

export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** The *.yaml files `kubectl apply -f manifests/` reads, in its (name) order. */
export function manifestFiles(): string[] {
  return readdirSync(manifestsDir)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort();
}

/** Every object of those files, in apply order. */
export function manifestObjects(): ManifestObject[] {
  return manifestFiles().flatMap((f) => parseObjects(readFileSync(join(manifestsDir, f), 'utf8')));
}

export function parseObjects(text: string): ManifestObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(d.errors.map((e) => e.message).join('; '));
      return d.toJS() as ManifestObject | null;
    })
    .filter((o): o is ManifestObject => o !== null);
}

export function objectId(o: ManifestObject): string {
  return `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}

export const traefikCrdsDir = join(manifestsDir, 'crds/traefik');
export const TRAEFIK_GROUPS = ['traefik.io', 'traefik.containo.us'];
/** The Traefik kinds the speaker's ingress role grants (11-speaker-rbac.yaml). */
export const TRAEFIK_KINDS = [
  { kind: 'IngressRoute', plural: 'ingressroutes' },
  { kind: 'Middleware', plural: 'middlewares' },
  { kind: 'TraefikService', plural: 'traefikservices' },
  { kind: 'ServersTransport', plural: 'serverstransports' },
  { kind: 'TLSOption', plural: 'tlsoptions' },
  { kind: 'TLSStore', plural: 'tlsstores' },
  { kind: 'IngressRouteTCP', plural: 'ingressroutetcps' },
  { kind: 'IngressRouteUDP', plural: 'ingressrouteudps' },
  { kind: 'MiddlewareTCP', plural: 'middlewaretcps' },
];

/** A schema-less CRD, standing in where only the name matters. */
export function standInCrd(group: string, kind: string, plural: string): string {
  return [
    'apiVersion: apiextensions.k8s.io/v1',
    'kind: CustomResourceDefinition',
    `metadata: {name: ${plural}.${group}}`,
    'spec:',
    `  group: ${group}`,
    `  names: {kind: ${kind}, plural: ${plural}, singular: ${kind.toLowerCase()}, listKind: ${kind}List}`,
    '  scope: Namespaced',
    '  versions: [{name: v1alpha1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]',
    '',
  ].join('\n');
}

export function hasKustomization(dir: string): boolean {
  return ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].some((f) => existsSync(join(dir, f)));
}

/** The Traefik CRDs of manifests/crds/traefik when that exists, stand-ins otherwise; waits until served. */
export async function installTraefikCrds(cp: ControlPlane): Promise<'real' | 'stand-in'> {
  const real = hasKustomization(traefikCrdsDir);
  if (real) {
    await kubectlOk(cp, ['apply', '--server-side', '-k', traefikCrdsDir]);
  } else {
    const docs = TRAEFIK_GROUPS.flatMap((g) => TRAEFIK_KINDS.map((k) => standInCrd(g, k.kind, k.plural)));
    await kubectlOk(cp, ['apply', '-f', '-'], docs.join('---\n'));
  }
  const names = TRAEFIK_GROUPS.flatMap((g) => TRAEFIK_KINDS.map((k) => `crd/${k.plural}.${g}`));
  await kubectlOk(cp, ['wait', '--for=condition=Established', '--timeout=60s', ...names]);
  return real ? 'real' : 'stand-in';
}
