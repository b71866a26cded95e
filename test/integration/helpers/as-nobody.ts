// A command run as nobody (uid/gid 65534, no capabilities) over this
// checkout, wherever the checkout lives. A root user's clone usually sits
// under /root (mode 700), which nobody cannot enter; so the command runs in
// a private mount namespace of its own, where the checkout is bind-mounted at
// a path nobody can reach. The host's mounts are not touched, and the mount
// goes away with the process.
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { hasProgram, repoRoot } from '../../support/netns-exec.ts';

export interface NobodyCommand {
  /** The argv to spawn, as root; the process drops to nobody itself. */
  argv: string[];
  /** Removes the (empty) mount point. */
  cleanup(): void;
}

/** Why commands cannot run as nobody here, or null when they can. */
export function nobodySkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (to drop to nobody)';
  for (const p of ['setpriv', 'unshare', 'mount']) if (!hasProgram(p)) return `needs ${p} (util-linux)`;
  return null;
}

/**
 * `cmd` as nobody: every path inside the checkout that an argument names is
 * rewritten to the same path under the bind mount, and the working directory
 * is the checkout's root there.
 */
export function asNobody(cmd: string[], setprivArgs: string[] = []): NobodyCommand {
  const mountPoint = mkdtempSync(join(tmpdir(), 'mg-nobody-'));
  // Paths may stand inside an argument too (a script passed with -e).
  const inside = (arg: string) => arg.replaceAll(repoRoot + sep, mountPoint + sep);
  const script = 'mount --bind "$1" "$2" && cd "$2" && shift 2 && exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"';
  return {
    argv: ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', repoRoot, mountPoint, ...setprivArgs, '--', ...cmd.map(inside)],
    cleanup: () => rmdirSync(mountPoint),
  };
}
