// The speaker in the network-namespace lab (test/support/lab.ts): one
// `metalgate speaker` process per node namespace, an echo server per node on
// all addresses (so whichever node holds the IP answers, saying who it is),
// Node objects and a Service whose status carries the IPs.
import type * as k8s from '@kubernetes/client-node';
import { join } from 'node:path';
import { ECHO_SERVER_SCRIPT, type Lab, type LabNode, type LabProcess } from '../../support/lab.ts';
import { repoRoot } from '../../support/netns-exec.ts';
import type { ControlPlane } from '../../support/control-plane.ts';
import { createService, ensureNamespace, lbService } from '../helpers/cluster.ts';
import { createNode, setServiceIps } from './helpers.ts';

export const CLI = join(repoRoot, 'src/cli.ts');
export const HOLDER = 'metalgate0';
/** Free LAN addresses per lab-plan.ts (198.18.0.100-254, 2001:db8::100-ffff). */
export const VIP4 = '198.18.0.200';
export const VIP6 = '2001:db8::200';
export const ECHO_PORT = 8080;

export function startSpeakerIn(lab: Lab, node: LabNode, cp: ControlPlane, extra: string[] = [], env: Record<string, string> = {}): LabProcess {
  return node.spawnNode(
    CLI,
    ['speaker', '--node-name', node.name, '--kubeconfig', cp.kubeconfigPath, '--metrics-port', '0', '--log-format', 'json', ...extra],
    { env: { METALGATE_LOG_FORMAT: 'json', ...env } },
  );
}

export async function startEcho(node: LabNode): Promise<LabProcess> {
  const p = node.spawnNode(ECHO_SERVER_SCRIPT, ['--port', String(ECHO_PORT), '--name', node.name]);
  await p.waitForOutput('echo-server listening', 15_000);
  return p;
}

/** Addresses on the node's holder device (global scope), or [] when it does not exist. */
export async function holderAddresses(node: LabNode): Promise<string[]> {
  try {
    const out = JSON.parse(await node.ip(['-j', 'addr', 'show', 'dev', HOLDER])) as Array<{ addr_info: Array<{ local: string; scope: string }> }>;
    return (out[0]?.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => a.local);
  } catch {
    return [];
  }
}

/** The nodes whose holder carries `ip`. */
export async function holdersOf(nodes: readonly LabNode[], ip: string): Promise<string[]> {
  const out: string[] = [];
  for (const n of nodes) if ((await holderAddresses(n)).includes(ip)) out.push(n.name);
  return out;
}

/** The IPs an announcement line is about: its `ip`, or the `ips` of a round over many (refresh, peer-left). */
export function announcedIps(line: Record<string, unknown>): string[] {
  if (!String(line.msg).startsWith('announced IP')) return [];
  if (typeof line.ip === 'string') return [line.ip];
  return Array.isArray(line.ips) ? line.ips.map(String) : [];
}

export async function setupCluster(core: k8s.CoreV1Api, nodes: readonly LabNode[], ns: string, name: string, ips: string[]): Promise<void> {
  await ensureNamespace(core, ns);
  for (const n of nodes) await createNode(core, n.name);
  await createService(core, lbService(ns, name, { ports: [{ name: 'http', port: ECHO_PORT, protocol: 'TCP', targetPort: ECHO_PORT }] }));
  await setServiceIps(core, ns, name, ips);
}

/** JSON log lines of a speaker process. */
export function logLines(p: LabProcess): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of p.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by the output tail
    }
  }
  return out;
}
