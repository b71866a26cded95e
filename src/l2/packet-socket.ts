// Typed wrapper over the native AF_PACKET socket (native/src/packet_socket.cc).
// One socket = one interface + one ethertype; received frames arrive as
// 'frame' events from the libuv loop, errors as 'error' events.

import { EventEmitter } from 'node:events';

import { arpFilter, ndpFilter } from './bpf.ts';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6 } from './ethernet.ts';
import { formatMac, type MacString, parseMac } from './mac.ts';
import { loadNativeAddon, type NativePacketSocket } from '../native/addon.ts';

// sll_pkttype values (linux/if_packet.h), passed with every frame.
export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;
export const PACKET_OUTGOING = 4;

/** hwType of an Ethernet interface (ARPHRD_ETHER); loopback is 772. */
export const ARPHRD_ETHER = 1;

export interface PacketSocketOptions {
  /** Interface name, e.g. "eth0". */
  interface: string;
  /** The one ethertype received (and the protocol of the bind), e.g. ETHERTYPE_ARP. */
  ethertype: number;
  /** Classic BPF program from bpf.ts, attached before the socket starts receiving. */
  filter?: Buffer | null;
}

export interface PacketSocketEvents {
  /** A received frame (its own Buffer, from the Ethernet header on) and its sll_pkttype. */
  frame: [frame: Buffer, packetType: number];
  /**
   * recvfrom or the poll failed; errors carry `code` (errno name) and
   * `syscall`. ENETDOWN means the interface went down or away: a socket whose
   * interface was deleted stays dead, so close it and open a new one.
   */
  error: [error: Error];
}

/**
 * AF_PACKET SOCK_RAW socket bound to one interface and ethertype. Opening
 * needs CAP_NET_RAW; failures throw Errors with `code` = errno name (EPERM,
 * ENODEV, ...) and `syscall`. An open socket keeps the process alive until
 * close(). Attach an 'error' listener: an unhandled 'error' event is thrown
 * as an uncaught exception, as for any EventEmitter.
 */
export class PacketSocket extends EventEmitter<PacketSocketEvents> {
  readonly interfaceName: string;
  readonly ethertype: number;
  readonly ifindex: number;
  /** The interface's hardware address when opened. */
  readonly mac: MacString;
  /** ARPHRD_* type of the interface; ARPHRD_ETHER for Ethernet. */
  readonly hwType: number;
  #native: NativePacketSocket | null;

  constructor(options: PacketSocketOptions) {
    super();
    const { PacketSocket: NativeSocket } = loadNativeAddon();
    this.#native = new NativeSocket(
      options.interface,
      options.ethertype,
      options.filter ?? null,
      (frame, packetType) => this.emit('frame', frame, packetType),
      (error) => this.emit('error', error),
    );
    this.interfaceName = options.interface;
    this.ethertype = options.ethertype;
    this.ifindex = this.#native.ifindex;
    this.mac = formatMac(this.#native.mac);
    this.hwType = this.#native.hwType;
  }

  get closed(): boolean {
    return this.#native === null;
  }

  /** Sends one complete Ethernet frame on the interface; returns the bytes sent. Throws (EAGAIN, ENETDOWN, ...) on failure. */
  send(frame: Buffer): number {
    return this.#open('send').send(frame);
  }

  /** Replaces the BPF filter, or removes it with null. */
  setFilter(filter: Buffer | null): void {
    this.#open('setFilter').setFilter(filter);
  }

  /**
   * Makes the interface accept frames for a link-layer multicast address,
   * e.g. ipv6MulticastMac(solicitedNodeAddress(vip)), so that Neighbor
   * Solicitations for an IP held on another device reach this socket through
   * a NIC's multicast filter. Counted per socket; released on close.
   */
  addMulticast(mac: MacString): void {
    this.#open('addMulticast').addMulticast(parseMac(mac));
  }

  dropMulticast(mac: MacString): void {
    this.#open('dropMulticast').dropMulticast(parseMac(mac));
  }

  /** Stops receiving and closes the descriptor; idempotent. */
  close(): void {
    const native = this.#native;
    if (native === null) return;
    this.#native = null;
    native.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #open(operation: string): NativePacketSocket {
    if (this.#native === null) {
      throw Object.assign(new Error(`EBADF: ${operation} on closed packet socket (${this.interfaceName})`), {
        code: 'EBADF',
      });
    }
    return this.#native;
  }
}

/** ARP socket with the ARP filter attached. */
export function openArpSocket(interfaceName: string): PacketSocket {
  return new PacketSocket({ interface: interfaceName, ethertype: ETHERTYPE_ARP, filter: arpFilter() });
}

/** IPv6 socket that only receives Neighbor Solicitations and Advertisements. */
export function openNdpSocket(interfaceName: string): PacketSocket {
  return new PacketSocket({ interface: interfaceName, ethertype: ETHERTYPE_IPV6, filter: ndpFilter() });
}
