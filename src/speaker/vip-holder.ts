// The holder device: a link of this speaker's own that carries the owned IPs
// (/32, /128), so that the kernel accepts their traffic and the proxy (same
// process) can bind them. The IP is never on the announcing
// interface: with arp_ignore=1 there the kernel stays silent about it, and
// only the speaker answers ARP/NDP for it - so a crashed speaker goes silent
// instead of the kernel answering for an IP another node now owns.
//
// A `dummy` link in production; kernels without the dummy type (this test
// kernel) get an `ifb`, said in the log. The device is the speaker's alone: on
// start every global address on it is a leftover of a crashed run and goes.

import type { Logger } from 'pino';
import { RT_SCOPE_UNIVERSE } from '../netlink/types.ts';
import type { NetlinkError, Rtnl } from '../netlink/rtnl.ts';

export const DEFAULT_HOLDER_DEVICE = 'metalgate0';

/** Link kinds tried in order when the holder device is missing. */
const HOLDER_KINDS = ['dummy', 'ifb'] as const;

function hostPrefixLength(ip: string): 32 | 128 {
  return ip.includes(':') ? 128 : 32;
}

export class VipHolder {
  readonly #rtnl: Rtnl;
  readonly #log: Logger;
  readonly device: string;
  #index: number | undefined;

  constructor(rtnl: Rtnl, log: Logger, device: string) {
    this.#rtnl = rtnl;
    this.#log = log;
    this.device = device;
  }

  get index(): number | undefined {
    return this.#index;
  }

  /**
   * Makes sure the device exists and is up (creating it when missing);
   * returns true when it had to be created (an existing device that was
   * deleted under us loses its addresses: the caller re-adds them).
   */
  async ensure(): Promise<boolean> {
    const links = await this.#rtnl.links();
    let link = links.find((l) => l.name === this.device);
    let created = false;
    if (!link) {
      await this.#create();
      created = true;
      link = (await this.#rtnl.links()).find((l) => l.name === this.device);
      if (!link) throw new Error(`holder device ${this.device} vanished right after it was created`);
    }
    // The holder is flushed on start: never take over a link that carries
    // anything else (a mistyped --holder-device eth0 must not strip the node).
    if (!created && !HOLDER_KINDS.includes(link.kind as (typeof HOLDER_KINDS)[number])) {
      throw new Error(
        `holder device ${this.device} exists and is ${link.kind ? `a ${link.kind}` : 'a physical'} link: ` +
          `the speaker removes every address on its holder device, so it must be a ${HOLDER_KINDS.join(' or ')} link of its own`,
      );
    }
    this.#index = link.index;
    if (!link.up) await this.#rtnl.setLinkUp(link.index);
    return created;
  }

  async #create(): Promise<void> {
    const failures: string[] = [];
    for (const kind of HOLDER_KINDS) {
      try {
        await this.#rtnl.createLink(this.device, kind);
        if (failures.length > 0) {
          this.#log.warn(
            { device: this.device, kind, unavailable: failures },
            `this kernel has no ${failures.join('/')} link type: holding the IPs on an ${kind} device instead`,
          );
        } else {
          this.#log.info({ device: this.device, kind }, 'created the holder device');
        }
        return;
      } catch (err) {
        const code = (err as NetlinkError).code;
        if (code === 'EEXIST') return; // created concurrently: fine
        if (code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EINVAL') throw err;
        failures.push(kind);
      }
    }
    throw new Error(`cannot create holder device ${this.device}: the kernel supports none of ${HOLDER_KINDS.join(', ')}`);
  }

  /** Removes every global address on the device (leftovers of a crashed run); returns them. */
  async flush(): Promise<string[]> {
    const index = this.#requireIndex();
    const removed: string[] = [];
    for (const a of await this.#rtnl.addresses()) {
      if (a.index !== index || a.scope !== RT_SCOPE_UNIVERSE) continue;
      await this.#rtnl.deleteAddress(index, a.ip, a.prefixLength);
      removed.push(`${a.ip}/${a.prefixLength}`);
    }
    if (removed.length > 0) {
      this.#log.info({ device: this.device, addresses: removed }, 'removed addresses a previous run left on the holder device');
    }
    return removed;
  }

  /** The IPs on the device now (tests, checks). */
  async held(): Promise<string[]> {
    const index = this.#requireIndex();
    return (await this.#rtnl.addresses()).filter((a) => a.index === index && a.scope === RT_SCOPE_UNIVERSE).map((a) => a.ip);
  }

  async add(ip: string): Promise<void> {
    await this.#rtnl.addAddress(this.#requireIndex(), ip, hostPrefixLength(ip));
  }

  async remove(ip: string): Promise<void> {
    await this.#rtnl.deleteAddress(this.#requireIndex(), ip, hostPrefixLength(ip));
  }

  #requireIndex(): number {
    if (this.#index === undefined) throw new Error(`holder device ${this.device} not set up (call ensure() first)`);
    return this.#index;
  }
}
