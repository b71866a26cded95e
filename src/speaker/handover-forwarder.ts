// Runs handover forwarding (handover-forward.ts) with nft: one IP's chain
// goes in before the takeover is announced and comes out when the previous
// owner's linger is over. Every nft call goes through one queue, so an IP's
// close never overtakes its open. Where nft is missing or the kernel lacks
// netdev tables, handovers work as before (connections of the old owner are
// reset); this says so once.

import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { KernelCommands } from '../proxy/kernel/kernel-commands.ts';
import { closeForwardScript, openForwardScript, resetForwardScript, type HandoverForward } from './handover-forward.ts';

export class HandoverForwarder {
  readonly #commands: KernelCommands;
  readonly #log: Logger;
  /** IP -> the timer that ends its forwarding. */
  readonly #open = new Map<string, NodeJS.Timeout>();
  #queue: Promise<unknown> = Promise.resolve();
  /** Why forwarding is off (nft failed where it cannot fail on a working system); undefined while it works. */
  #off: string | undefined;

  constructor(commands: KernelCommands, log: Logger) {
    this.#commands = commands;
    this.#log = log;
  }

  /** At start: removes the table a crashed run left (it would forward to a peer long gone). */
  reset(): Promise<void> {
    return this.#run(async () => {
      const r = await this.#commands.nft(resetForwardScript());
      if (!r.ok) this.#turnOff(r.error);
    });
  }

  /**
   * Forwards the peer's connections on `f.ip` for `ms`. Resolves once the
   * chain is in: true, or false when it could not be (logged).
   */
  open(f: HandoverForward, ms: number): Promise<boolean> {
    return this.#run(async () => {
      if (this.#off !== undefined) return false;
      const built = openForwardScript(f);
      if (!built.ok) {
        this.#log.warn({ ip: f.ip, err: built.error }, 'handover forwarding skipped');
        return false;
      }
      const started = performance.now();
      const r = await this.#commands.nft(built.script);
      const nftMs = Math.round(performance.now() - started);
      if (!r.ok) {
        this.#log.warn({ ip: f.ip, device: f.device, err: r.error, nftMs }, 'handover forwarding failed: connections of the previous owner will be reset');
        return false;
      }
      clearTimeout(this.#open.get(f.ip));
      this.#open.set(
        f.ip,
        setTimeout(() => void this.close(f.ip), ms),
      );
      this.#log.info({ ip: f.ip, device: f.device, peerMac: f.peerMac, ms, nftMs }, 'forwarding the previous owner\'s connections to it while it lingers');
      return true;
    });
  }

  /** Ends one IP's forwarding (no-op when none is open). */
  close(ip: string): Promise<void> {
    const timer = this.#open.get(ip);
    if (timer === undefined) return this.#queue.then(() => undefined);
    clearTimeout(timer);
    this.#open.delete(ip);
    return this.#run(async () => {
      const r = await this.#commands.nft(closeForwardScript(ip));
      if (!r.ok) this.#log.warn({ ip, err: r.error }, 'could not remove handover forwarding');
      else this.#log.debug({ ip }, 'handover forwarding ended');
    });
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.#open.keys()].map((ip) => this.close(ip)));
  }

  /** IPs forwarding now, sorted. */
  openIps(): string[] {
    return [...this.#open.keys()].sort();
  }

  #turnOff(error: string): void {
    this.#off = error;
    this.#log.warn({ err: error }, 'handover forwarding is off (needs nft and nf_tables netdev support): connections of a previous owner are reset at a handover');
  }

  #run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(task, task);
    this.#queue = next.catch(() => undefined);
    return next;
  }
}
