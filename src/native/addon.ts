// Loading the native addon (native/src, built by scripts/build-native.mjs)
// and the raw shapes of its classes. Use the typed wrappers, not these:
// src/l2/packet-socket.ts for PacketSocket, src/proxy/listeners/idle-park.ts
// for IdlePark, src/netlink/link-watch.ts for NetlinkMonitor;
// src/common/heap-reclaimer.ts calls trimMalloc.

import { fs } from '../common/builtins.ts';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Where scripts/build-native.mjs puts the addon (same from src/native and dist/native). */
export const NATIVE_ADDON_PATH = fileURLToPath(new URL('../../native/build/metalgate_native.node', import.meta.url));

export interface NativePacketSocket {
  readonly ifindex: number;
  readonly hwType: number;
  readonly mac: Buffer;
  send(frame: Buffer): number;
  setFilter(filter: Buffer | null): void;
  addMulticast(mac: Buffer): void;
  dropMulticast(mac: Buffer): void;
  close(): void;
}

export interface NativeIdlePark {
  /**
   * Parks a duplicate of the connected descriptor `fd` under `tag` until it
   * is readable or `timeoutMs` passes; returns the duplicate, or -1 when
   * `quietOnly` and bytes are already waiting (nothing parked then).
   */
  park(fd: number, tag: number, timeoutMs: number, quietOnly: boolean): number;
  /** Closes every connection parked under `tag`; returns how many. */
  closeTag(tag: number): number;
  /** Connections parked under `tag`, or in all when omitted. */
  countOf(tag?: number): number;
  close(): void;
}

export interface NativeNetlinkMonitor {
  close(): void;
}

export interface NativeAddon {
  PacketSocket: new (
    ifname: string,
    ethertype: number,
    filter: Buffer | null,
    onFrame: (frame: Buffer, packetType: number) => void,
    onError: (error: Error) => void,
  ) => NativePacketSocket;
  /** `onReady(fd, tag)`: a parked connection has bytes; the descriptor is the callback's to wrap or close. */
  IdlePark: new (onReady: (fd: number, tag: number) => void) => NativeIdlePark;
  /** `onChange(datagrams)`: that many route netlink notifications of the groups (RTNLGRP_*) arrived since the last call. */
  NetlinkMonitor: new (groups: readonly number[], onChange: (datagrams: number) => void, onError: (error: Error) => void) => NativeNetlinkMonitor;
  /** glibc's malloc_trim(0), process-wide: true when memory went back to the kernel; false off glibc. */
  trimMalloc(): boolean;
}

let addon: NativeAddon | undefined;

/** Loads the addon once; throws an Error saying how to build it when it is missing. */
export function loadNativeAddon(): NativeAddon {
  if (addon !== undefined) return addon;
  if (!fs.existsSync(NATIVE_ADDON_PATH)) {
    throw new Error(`metalgate native addon not built: ${NATIVE_ADDON_PATH} is missing (run npm run build:native)`);
  }
  try {
    addon = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeAddon;
  } catch (error) {
    throw new Error(`cannot load ${NATIVE_ADDON_PATH}: ${(error as Error).message} (rebuild: npm run build:native)`, {
      cause: error,
    });
  }
  return addon;
}
