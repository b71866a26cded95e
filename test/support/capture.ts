// A packet capture in a lab namespace: tcpdump writing a pcap file, packet
// by packet (-U, --immediate-mode), so a test can read the frames while the
// capture runs (waitForFrame) or when it stops.

import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import type { LabProcess } from './lab-process.ts';
import { parsePcap, type PcapFrame } from './pcap.ts';

export interface Capture {
  readonly ns: string;
  readonly iface: string;
  readonly file: string;
  readonly process: LabProcess;
  /** Frames captured so far (the file as it is now). */
  frames(): Promise<PcapFrame[]>;
  /** Polls the file (every 20 ms) until a frame matches; rejects after `timeoutMs`. */
  waitForFrame(match: (frame: PcapFrame) => boolean, timeoutMs?: number, what?: string): Promise<PcapFrame>;
  /** Stops tcpdump (SIGINT, bounded) and returns the whole pcap file. */
  stop(): Promise<Buffer>;
}

/** tcpdump's arguments: no name resolution, per-packet flush, stays root so it can write the run directory. */
export function tcpdumpArgs(iface: string, file: string, filter: string | undefined): string[] {
  return ['-i', iface, '-n', '-U', '--immediate-mode', '-Z', 'root', '-w', file, ...(filter ? [filter] : [])];
}

export async function startCapture(
  spawn: (argv: string[]) => LabProcess,
  ns: string,
  iface: string,
  file: string,
  filter: string | undefined,
  readyTimeoutMs = 10_000,
): Promise<Capture> {
  const proc = spawn(['tcpdump', ...tcpdumpArgs(iface, file, filter)]);
  try {
    // tcpdump says this once the interface is open: frames from now on are kept.
    await proc.waitForOutput('listening on', readyTimeoutMs);
  } catch (err) {
    await proc.stop('SIGKILL').catch(() => {});
    throw err;
  }
  const read = async (): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch {
      return Buffer.alloc(0);
    }
  };
  const frames = async (): Promise<PcapFrame[]> => {
    const bytes = await read();
    return bytes.length < 24 ? [] : parsePcap(bytes).frames;
  };
  return {
    ns,
    iface,
    file,
    process: proc,
    frames,
    async waitForFrame(match, timeoutMs = 10_000, what = 'a matching frame') {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = (await frames()).find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`capture on ${iface} in ${ns}: no ${what} within ${timeoutMs} ms`);
        await sleep(20);
      }
    },
    async stop() {
      await proc.stop('SIGINT', 3000);
      return read();
    },
  };
}
