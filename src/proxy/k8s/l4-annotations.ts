// Per-Service L4 settings from annotations, with defaults. Pure: a bad value
// becomes a problem in words (reported on the Service) and the default.
//
//   metalgate.io/proxy-protocol:   v1 | v2        (TCP only; absent: none)
//   metalgate.io/connect-timeout:  5s             per attempt
//   metalgate.io/connect-attempts: 3              endpoints tried per connection
//   metalgate.io/idle-timeout:     10m            TCP, no byte either way; 0 disables
//   metalgate.io/udp-idle-timeout: 30s            UDP flow expiry
//   metalgate.io/l4-dataplane:     proxy | kernel  who forwards: this process,
//                                  or DNAT rules in the kernel
//                                  (src/proxy/kernel): the rate of the kernel,
//                                  without connect retries, PROXY protocol or
//                                  the timeouts above. Absent: the node's
//                                  default (--l4-dataplane, itself proxy by
//                                  default), except that a Service asking for
//                                  PROXY protocol stays on the proxy.

import { TCP_FORWARDER_DEFAULTS } from '../l4/tcp-forwarder.ts';
import { UDP_FORWARDER_DEFAULTS } from '../l4/udp-forwarder.ts';
import { parseDuration } from './duration.ts';

const ANNOTATION_PREFIX = 'metalgate.io/';
const PROXY_PROTOCOL_ANNOTATION = `${ANNOTATION_PREFIX}proxy-protocol`;
const CONNECT_TIMEOUT_ANNOTATION = `${ANNOTATION_PREFIX}connect-timeout`;
const CONNECT_ATTEMPTS_ANNOTATION = `${ANNOTATION_PREFIX}connect-attempts`;
const IDLE_TIMEOUT_ANNOTATION = `${ANNOTATION_PREFIX}idle-timeout`;
const UDP_IDLE_TIMEOUT_ANNOTATION = `${ANNOTATION_PREFIX}udp-idle-timeout`;
const L4_DATAPLANE_ANNOTATION = `${ANNOTATION_PREFIX}l4-dataplane`;

/** Who forwards a Service's L4 ports: the proxy process, or kernel DNAT rules. */
export type L4Dataplane = 'proxy' | 'kernel';

export interface L4Settings {
  readonly proxyProtocol: 'v1' | 'v2' | undefined;
  readonly connectTimeoutMs: number;
  readonly connectAttempts: number;
  readonly idleTimeoutMs: number;
  readonly udpIdleTimeoutMs: number;
  readonly dataplane: L4Dataplane;
  /** spec.loadBalancerSourceRanges, normalized (source-ranges.ts); undefined: every client. */
  readonly sourceRanges: readonly string[] | undefined;
}

export const DEFAULT_L4_SETTINGS: L4Settings = {
  proxyProtocol: undefined,
  connectTimeoutMs: TCP_FORWARDER_DEFAULTS.connectTimeoutMs,
  connectAttempts: TCP_FORWARDER_DEFAULTS.maxAttempts,
  idleTimeoutMs: TCP_FORWARDER_DEFAULTS.idleTimeoutMs,
  udpIdleTimeoutMs: UDP_FORWARDER_DEFAULTS.idleTimeoutMs,
  dataplane: 'proxy',
  sourceRanges: undefined,
};

const MAX_TIMEOUT_MS = 24 * 3_600_000;
const MAX_ATTEMPTS = 16;

/**
 * `defaultDataplane`: who forwards a Service that does not say (the
 * speaker's --l4-dataplane).
 */
export function parseL4Annotations(
  annotations: Readonly<Record<string, string>> | undefined,
  defaultDataplane: L4Dataplane = DEFAULT_L4_SETTINGS.dataplane,
): { settings: L4Settings; problems: string[] } {
  const a = annotations ?? {};
  const problems: string[] = [];
  const d = DEFAULT_L4_SETTINGS;

  let proxyProtocol: L4Settings['proxyProtocol'];
  const pp = a[PROXY_PROTOCOL_ANNOTATION];
  if (pp !== undefined) {
    const v = pp.trim().toLowerCase();
    if (v === 'v1' || v === 'v2') proxyProtocol = v;
    else if (v !== '' && v !== 'none' && v !== 'off') problems.push(`${PROXY_PROTOCOL_ANNOTATION}: "${pp}" is not v1 or v2; sending none`);
  }

  const duration = (name: string, fallback: number, min: number): number => {
    const raw = a[name];
    if (raw === undefined) return fallback;
    const r = parseDuration(raw);
    if ('error' in r) {
      problems.push(`${name}: ${r.error}; using ${fallback} ms`);
      return fallback;
    }
    if (r.ms < min || r.ms > MAX_TIMEOUT_MS) {
      problems.push(`${name}: ${raw} is outside ${min} ms..24h; using ${fallback} ms`);
      return fallback;
    }
    return r.ms;
  };

  let connectAttempts = d.connectAttempts;
  const rawAttempts = a[CONNECT_ATTEMPTS_ANNOTATION];
  if (rawAttempts !== undefined) {
    const n = Number(rawAttempts.trim());
    if (Number.isInteger(n) && n >= 1 && n <= MAX_ATTEMPTS && rawAttempts.trim() !== '') connectAttempts = n;
    else problems.push(`${CONNECT_ATTEMPTS_ANNOTATION}: "${rawAttempts}" is not a whole number from 1 to ${MAX_ATTEMPTS}; using ${d.connectAttempts}`);
  }

  // Only the proxy can write a PROXY protocol header: a Service that asks for one is never left to the kernel by default.
  const fallback: L4Dataplane = proxyProtocol !== undefined ? 'proxy' : defaultDataplane;
  let dataplane: L4Dataplane = fallback;
  const rawPlane = a[L4_DATAPLANE_ANNOTATION];
  if (rawPlane !== undefined) {
    const v = rawPlane.trim().toLowerCase();
    if (v === 'kernel' && proxyProtocol !== undefined) {
      problems.push(`${L4_DATAPLANE_ANNOTATION}: kernel forwarding cannot send a PROXY protocol header (${PROXY_PROTOCOL_ANNOTATION}: ${proxyProtocol}); forwarding in the proxy`);
    } else if (v === 'kernel' || v === 'proxy') {
      dataplane = v;
    } else if (v !== '') {
      problems.push(`${L4_DATAPLANE_ANNOTATION}: "${rawPlane}" is not proxy or kernel; using ${fallback}`);
    }
  }

  return {
    settings: {
      proxyProtocol,
      connectTimeoutMs: duration(CONNECT_TIMEOUT_ANNOTATION, d.connectTimeoutMs, 1),
      connectAttempts,
      idleTimeoutMs: duration(IDLE_TIMEOUT_ANNOTATION, d.idleTimeoutMs, 0),
      udpIdleTimeoutMs: duration(UDP_IDLE_TIMEOUT_ANNOTATION, d.udpIdleTimeoutMs, 100),
      dataplane,
      sourceRanges: undefined,
    },
    problems,
  };
}

export function sameL4Settings(a: L4Settings, b: L4Settings): boolean {
  return (
    a.proxyProtocol === b.proxyProtocol &&
    a.connectTimeoutMs === b.connectTimeoutMs &&
    a.connectAttempts === b.connectAttempts &&
    a.idleTimeoutMs === b.idleTimeoutMs &&
    a.udpIdleTimeoutMs === b.udpIdleTimeoutMs &&
    a.dataplane === b.dataplane &&
    (a.sourceRanges ?? []).join(',') === (b.sourceRanges ?? []).join(',') &&
    (a.sourceRanges === undefined) === (b.sourceRanges === undefined)
  );
}
