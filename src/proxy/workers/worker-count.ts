// How many proxy workers `--proxy-workers` asks for. One event loop drives
// one core; past that the proxy needs worker threads (each binds the owned
// IP:ports with SO_REUSEPORT and the kernel spreads the connections). `auto`
// follows the CPUs this process may use, capped: a node with 64 cores rarely
// gives the load balancer 64 of them.

export const AUTO_WORKER_CAP = 4;

/** 1 means on the speaker's thread (no workers); otherwise the number of worker threads. */
export function proxyWorkerCount(flag: string, cpus: number): number | { error: string } {
  const v = flag.trim().toLowerCase();
  if (v === 'auto') return Math.max(1, Math.min(AUTO_WORKER_CAP, Math.floor(cpus)));
  if (!/^[0-9]+$/.test(v)) return { error: `--proxy-workers must be "auto" or a whole number from 1 to 64, got "${flag}"` };
  const n = Number(v);
  if (n < 1 || n > 64) return { error: `--proxy-workers must be "auto" or a whole number from 1 to 64, got "${flag}"` };
  return n;
}
