// Plain views of rtnetlink links and addresses: what the speaker reads,
// free of the `netlink` package's message types so that pure code (and its
// tests) never imports the native binding.

export interface LinkInfo {
  index: number;
  name: string;
  /** IFLA_INFO_KIND: "veth", "bridge", "bond", "ifb", ...; undefined for physical NICs. */
  kind: string | undefined;
  /** ARPHRD_* name from the netlink package: "ETHER", "LOOPBACK", ... */
  hwType: string;
  /** Lower-case "aa:bb:cc:dd:ee:ff"; undefined when the link has no 6-byte address. */
  mac: string | undefined;
  /** IFF_UP: administratively up. */
  up: boolean;
  /** Carrier present (IFLA_CARRIER, else IFF_LOWER_UP). */
  carrier: boolean;
  /** IFLA_MASTER: the bond or bridge this link is enslaved to. */
  master: number | undefined;
  /** IFF_NOARP. */
  noArp: boolean;
}

export interface AddressInfo {
  /** Index of the link holding the address. */
  index: number;
  family: 4 | 6;
  /** Canonical text (RFC 5952 for IPv6). */
  ip: string;
  prefixLength: number;
  /** RT_SCOPE_*: 0 universe, 253 link, 254 host. */
  scope: number;
  /** IPv6 duplicate address detection still running or failed: not usable yet. */
  tentative: boolean;
}

export const RT_SCOPE_UNIVERSE = 0;
