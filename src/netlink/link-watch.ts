// Tells the speaker that a link or an address changed (rtnetlink multicast
// groups), through the native addon's NetlinkMonitor. The notifications
// only say that something changed: coalescing and re-reading is the
// caller's job. Not the `netlink` package's socket, whose process aborts
// when a burst overflows it (native/src/netlink_monitor.cc says why).

import { loadNativeAddon, type NativeNetlinkMonitor } from '../native/addon.ts';

// linux/rtnetlink.h
const RTNLGRP_LINK = 1;
const RTNLGRP_IPV4_IFADDR = 5;
const RTNLGRP_IPV6_IFADDR = 9;
const GROUPS = [RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR];

/** After the monitor failed, it is opened again this much later (and the caller told to re-read: it heard nothing meanwhile). */
const REOPEN_AFTER_MS = 1_000;

/**
 * Calls `onChange` whenever a link or an address changes. Throws when the
 * monitor cannot be opened at all (no addon, no netlink); a failure later
 * goes to `onError`, and the monitor is opened again a second later.
 * Returns a function that stops.
 */
export function watchLinksAndAddresses(onChange: () => void, onError: (err: Error) => void): () => void {
  const addon = loadNativeAddon();
  let monitor: NativeNetlinkMonitor | undefined;
  let reopen: NodeJS.Timeout | undefined;
  let stopped = false;
  const open = (): NativeNetlinkMonitor =>
    new addon.NetlinkMonitor(GROUPS, () => onChange(), (err) => {
      onError(err);
      monitor?.close();
      monitor = undefined;
      reopenLater();
    });
  const reopenLater = (): void => {
    if (stopped || reopen !== undefined) return;
    reopen = setTimeout(() => {
      reopen = undefined;
      if (stopped) return;
      try {
        monitor = open();
        onChange();
      } catch (err) {
        onError(err as Error);
        reopenLater();
      }
    }, REOPEN_AFTER_MS);
  };
  monitor = open();
  return () => {
    stopped = true;
    clearTimeout(reopen);
    monitor?.close();
    monitor = undefined;
  };
}
