// Runs http-prober.ts inside a lab namespace and collects its samples as they
// arrive, for failover tests ("traffic back within N ms") and the demo.

import { fileURLToPath } from 'node:url';

import type { LabProcess } from './lab-process.ts';
import type { ProbeSample } from './probe-stats.ts';

export const HTTP_PROBER_SCRIPT = fileURLToPath(new URL('./http-prober.ts', import.meta.url));

export interface HttpProbeOptions {
  /** Pause between the end of one probe and the start of the next is at most this (default 20 ms). */
  intervalMs?: number;
  /** Per probe (default 300 ms). */
  timeoutMs?: number;
  /** The prober stops by itself after this (default 600 s). */
  durationS?: number;
}

export interface HttpProbe {
  readonly process: LabProcess;
  /** Every sample so far, oldest first. */
  samples(): readonly ProbeSample[];
  /** The next sample (from now on) that matches; rejects after `timeoutMs`. */
  waitFor(match: (s: ProbeSample) => boolean, timeoutMs?: number, what?: string): Promise<ProbeSample>;
  /** Stops the prober (SIGTERM, bounded) and returns every sample. */
  stop(): Promise<ProbeSample[]>;
}

export function httpProberArgs(url: string, opts: HttpProbeOptions): string[] {
  return [
    '--url',
    url,
    '--interval-ms',
    String(opts.intervalMs ?? 20),
    '--timeout-ms',
    String(opts.timeoutMs ?? 300),
    '--duration-s',
    String(opts.durationS ?? 600),
  ];
}

export function startHttpProbe(spawnNode: (script: string, args: string[]) => LabProcess, url: string, opts: HttpProbeOptions = {}): HttpProbe {
  const proc = spawnNode(HTTP_PROBER_SCRIPT, httpProberArgs(url, opts));
  const samples: ProbeSample[] = [];
  const watchers = new Set<() => void>();
  let partial = '';
  proc.child.stdout!.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      if (line.startsWith('{')) samples.push(JSON.parse(line) as ProbeSample);
    }
    for (const w of [...watchers]) w();
  });
  return {
    process: proc,
    samples: () => samples,
    waitFor(match, timeoutMs = 10_000, what = 'a matching probe') {
      const from = samples.length;
      return new Promise((resolve, reject) => {
        const check = (): void => {
          for (let i = from; i < samples.length; i++) {
            if (match(samples[i]!)) {
              clearTimeout(timer);
              watchers.delete(check);
              return resolve(samples[i]!);
            }
          }
          if (!proc.running) {
            clearTimeout(timer);
            watchers.delete(check);
            reject(new Error(`prober exited before ${what}\n${proc.output().slice(-2000)}`));
          }
        };
        const timer = setTimeout(() => {
          watchers.delete(check);
          const last = samples.at(-1);
          reject(new Error(`no ${what} within ${timeoutMs} ms (last probe: ${JSON.stringify(last)})`));
        }, timeoutMs);
        watchers.add(check);
        void proc.exited.then(check);
        check();
      });
    },
    async stop() {
      await proc.stop('SIGTERM', 2000);
      return samples;
    },
  };
}
