// Two network namespaces joined by a veth pair, for the l2 integration test.
// The veth ends are created directly inside the namespaces, so nothing ever
// appears on the host's own interface list.

import { execFileSync, spawnSync } from 'node:child_process';

export interface VethPair {
  nsA: string;
  nsB: string;
  ifA: string;
  ifB: string;
}

/** Why namespace tests cannot run here, or null when they can. */
export function namespaceSkipReason(): string | null {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, AF_PACKET)';
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) return 'needs iproute2 (`ip`)';
  return null;
}

export function ip(args: string[], timeoutMs = 10_000): string {
  return execFileSync('ip', args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `ip -n <ns> ...`, the same command inside a namespace. */
export function ipIn(ns: string, args: string[]): string {
  return ip(['-n', ns, ...args]);
}

export function createVethPair(prefix: string): VethPair {
  const pair: VethPair = { nsA: `${prefix}-a`, nsB: `${prefix}-b`, ifA: 'veth-a', ifB: 'veth-b' };
  ip(['netns', 'add', pair.nsA]);
  ip(['netns', 'add', pair.nsB]);
  ip(['link', 'add', pair.ifA, 'netns', pair.nsA, 'type', 'veth', 'peer', 'name', pair.ifB, 'netns', pair.nsB]);
  for (const [ns, ifname] of [
    [pair.nsA, pair.ifA],
    [pair.nsB, pair.ifB],
  ] as const) {
    ipIn(ns, ['link', 'set', 'lo', 'up']);
    ipIn(ns, ['link', 'set', ifname, 'up']);
  }
  return pair;
}

/** Deletes the namespaces (and with them the veth pair); never throws. */
export function deleteVethPair(pair: Pick<VethPair, 'nsA' | 'nsB'>): void {
  for (const ns of [pair.nsA, pair.nsB]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 10_000 });
}

export interface NeighbourEntry {
  dst: string;
  lladdr?: string;
  state?: string[];
}

export function neighbour(ns: string, ifname: string, address: string): NeighbourEntry | undefined {
  const entries = JSON.parse(ipIn(ns, ['-j', 'neigh', 'show', 'dev', ifname, 'to', address]) || '[]') as NeighbourEntry[];
  return entries.find((entry) => entry.dst === address);
}

/** Polls `check` every 25 ms until it returns a value, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => T | undefined | false | Promise<T | undefined | false>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
