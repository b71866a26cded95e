// What `npm run demo` needs from the machine, and the message that says so.
// The decision is pure (facts in, missing items out); probeMachine gathers
// the facts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { repoRoot } from '../test/support/netns-exec.ts';

export interface MachineFacts {
  platform: string;
  uid: number | undefined;
  /** `ip` and `bridge` (iproute2). */
  iproute2: boolean;
  curl: boolean;
  go: boolean;
  /** native/build/metalgate_native.node: the speaker's packet sockets. */
  nativeAddon: boolean;
}

export interface Requirement {
  what: string;
  why: string;
  met: boolean;
}

export function probeMachine(): MachineFacts {
  const has = (program: string): boolean =>
    spawnSync('sh', ['-c', 'command -v "$1" >/dev/null', 'sh', program], { stdio: 'ignore', timeout: 5000 }).status === 0;
  return {
    platform: process.platform,
    uid: process.getuid?.(),
    iproute2: has('ip') && has('bridge'),
    curl: has('curl'),
    go: has('go'),
    nativeAddon: existsSync(join(repoRoot, 'native/build/metalgate_native.node')),
  };
}

/**
 * Everything the demo needs, met or not, most basic first. Go is not among
 * them: only the first build of the control plane needs it, and that build
 * says so itself (refusalMessage mentions it).
 */
export function requirements(f: MachineFacts): Requirement[] {
  return [
    { what: 'Linux', why: 'the LAN is made of Linux network namespaces', met: f.platform === 'linux' },
    { what: 'root', why: 'creating network namespaces, veth pairs and a bridge, and running the speakers inside them', met: f.uid === 0 },
    { what: 'iproute2 (ip, bridge)', why: 'builds the namespace LAN (apt-get install iproute2)', met: f.iproute2 },
    { what: 'curl', why: 'the demo curls the EXTERNAL-IP from the client namespace (apt-get install curl)', met: f.curl },
    { what: 'the native addon', why: 'the speaker sends ARP/NDP through it; `npm ci` builds native/build/metalgate_native.node', met: f.nativeAddon },
  ];
}

export function missingRequirements(f: MachineFacts): Requirement[] {
  return requirements(f).filter((r) => !r.met);
}

export function refusalMessage(all: readonly Requirement[], goPresent: boolean): string {
  const mark = (met: boolean): string => (met ? 'ok     ' : 'MISSING');
  return [
    'npm run demo: cannot run here. It needs:',
    ...all.map((r) => `  ${mark(r.met)} ${r.what}: ${r.why}`),
    `  ${goPresent ? 'ok     ' : 'maybe  '} Go, only the first time: kube-apiserver, etcd and kubectl are built from source into ~/.cache/metalgate${goPresent ? '' : ' (go not found)'}`,
    '',
    'Run it as root on a Linux machine, e.g.:  sudo npm run demo   (or: sudo npm run demo -- --once)',
    "It touches none of the host's interfaces or routes: everything lives in namespaces it creates and deletes.",
  ].join('\n');
}
