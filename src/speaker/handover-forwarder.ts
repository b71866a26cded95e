// Runs handover forwarding (handover-forward.ts) with nft: one IP's chain
// goes in before the takeover is announced and comes out when the previous
// owner's linger is over. Every nft call goes through one queue, so an IP's
// close never overtakes its open; the opens waiting in it go in together,
// as one transaction (a node taking over a stopped node's 33 IPs ran 33 nft
// processes in turn, about 30 ms each, before the last could be announced).
// Where nft is missing or the kernel lacks netdev tables, handovers work as
// before (connections of the old owner are reset); this says so once.

import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { KernelCommands } from '../proxy/kernel/kernel-commands.ts';
import { closeForwardScript, openForwardScript, resetForwardScript, type HandoverForward } from './handover-forward.ts';

interface PendingOpen {
  readonly f: HandoverForward;
  readonly ms: number;
  readonly resolve: (opened: boolean) => void;
}

export class HandoverForwarder {
  readonly #commands: KernelCommands;
  readonly #log: Logger;
  /** IP -> the timer that ends its forwarding. */
  readonly #open = new Map<string, NodeJS.Timeout>();
  #queue: Promise<unknown> = Promise.resolve();
  /** Opens waiting for the queued task that puts them in, in one nft call. */
  #opening: PendingOpen[] = [];
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
    return new Promise((resolve) => {
      this.#opening.push({ f, ms, resolve });
      // One queued task takes every open waiting when it runs.
      if (this.#opening.length === 1) void this.#run(() => this.#openWaiting());
    });
  }

  async #openWaiting(): Promise<void> {
    const batch = this.#opening.splice(0);
    if (this.#off !== undefined) {
      for (const o of batch) o.resolve(false);
      return;
    }
    const ready: Array<PendingOpen & { script: string }> = [];
    for (const o of batch) {
      const built = openForwardScript(o.f);
      if (built.ok) ready.push({ ...o, script: built.script });
      else {
        this.#log.warn({ ip: o.f.ip, err: built.error }, 'handover forwarding skipped');
        o.resolve(false);
      }
    }
    if (ready.length === 0) return;
    const started = performance.now();
    const r = await this.#commands.nft(ready.map((o) => o.script).join(''));
    if (r.ok) {
      const nftMs = Math.round(performance.now() - started);
      for (const o of ready) this.#opened(o, nftMs);
      return;
    }
    // One transaction fails whole: each on its own, so one bad IP costs only itself.
    for (const o of ready) {
      const one = ready.length === 1 ? r : await this.#commands.nft(o.script);
      const nftMs = Math.round(performance.now() - started);
      if (one.ok) this.#opened(o, nftMs);
      else {
        this.#log.warn({ ip: o.f.ip, device: o.f.device, err: one.error, nftMs }, 'handover forwarding failed: connections of the previous owner will be reset');
        o.resolve(false);
      }
    }
  }

  #opened(o: PendingOpen, nftMs: number): void {
    const { f, ms } = o;
    clearTimeout(this.#open.get(f.ip));
    this.#open.set(
      f.ip,
      setTimeout(() => void this.close(f.ip), ms),
    );
    this.#log.info({ ip: f.ip, device: f.device, peerMac: f.peerMac, ms, nftMs }, 'forwarding the previous owner\'s connections to it while it lingers');
    o.resolve(true);
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
