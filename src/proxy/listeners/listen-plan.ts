// Which sockets this node must listen on: every port of every LoadBalancer
// Service (of our class) on every status IP this node owns. Pure: owned IPs
// and Services in, listener specs and problems out.
//
// The ingress entrypoint Service is the exception: its ports 80 and 443 are
// served by the HTTP engine (443 with TLS termination); its other ports are
// plain L4 like any Service's, except that a port a Traefik TCP or UDP route
// names as its entry point forwards to that route's Services instead (by
// weight, in user space: the kernel rules follow one Service's endpoints). Two Services claiming one protocol/IP/port
// (the controller refuses such sharing, but objects can be edited by hand):
// the first by namespace/name keeps it, the other gets a problem.

import type { V1Service } from '@kubernetes/client-node';
import { isOurs, type ClassFilter } from '../../ipam/service-request.ts';
import { serviceKeyOf, statusIps } from '../../kube/object-names.ts';
import { parseL4Annotations, type L4Dataplane, type L4Settings } from '../k8s/l4-annotations.ts';
import { parseSourceRanges } from '../k8s/source-ranges.ts';
import type { EntryRoute } from '../../ingress/model/entry-route.ts';

export type ListenerMode = 'l4' | 'http' | 'https';
export type ListenerProtocol = 'TCP' | 'UDP';

/**
 * A Service port as the L4 metrics label it: its name, or its number when
 * unnamed. The proxy's counts and kernel forwarding's counters feed the same
 * series, so both name the port this way.
 */
export function metricsPortOf(p: { readonly portName: string; readonly port: number }): string {
  return p.portName || String(p.port);
}

export interface ListenerSpec {
  /** "TCP 198.18.0.200:80" / "UDP [2001:db8::200]:53": identity across plans. */
  readonly key: string;
  readonly ip: string;
  readonly port: number;
  readonly protocol: ListenerProtocol;
  /** "namespace/name". */
  readonly service: string;
  readonly serviceUid: string | undefined;
  /** Service port name ("" when unnamed): the EndpointSlice port it forwards to. */
  readonly portName: string;
  readonly mode: ListenerMode;
  readonly l4: L4Settings;
  /** A Traefik route on this entrypoint port: its Services get the connections, not `service`'s endpoints. */
  readonly route?: ListenerRoute;
}

/** Where a routed entrypoint port sends its connections (UDP flows): one target per new one, by weight. */
export interface ListenerRoute {
  /** "IngressRouteTCP ns/name". */
  readonly origin: string;
  readonly targets: readonly { readonly service: string; readonly portName: string; readonly weight: number }[];
  /** The route's ipAllowList (CIDRs), checked besides the Service's source ranges. */
  readonly allow?: readonly string[];
  /** The route's inFlightConn: connections one client IP may hold open at once. */
  readonly maxConnections?: number;
  /** TLS terminated here with this Secret's certificate ("ns/name"; the default one when absent), the plaintext forwarded. */
  readonly tls?: { readonly secretKey?: string };
  /** HostSNI(`name`) routes, chosen by the ClientHello before the catch-all above (which has no targets when there is none). */
  readonly byName?: readonly ListenerNamedRoute[];
}

/** One HostSNI(`name`, ...) route of an entry point. */
export interface ListenerNamedRoute {
  /** Lowercase server names. */
  readonly hosts: readonly string[];
  readonly targets: ListenerRoute['targets'];
  readonly allow?: readonly string[];
  readonly maxConnections?: number;
  /** Terminated with this Secret's certificate (the default one without `secretKey`), or passed through untouched. */
  readonly tls: { readonly secretKey?: string } | 'passthrough';
  readonly origin: string;
}

export interface PlanProblem {
  /** "namespace/name" of the Service concerned. */
  readonly service: string;
  readonly serviceUid: string | undefined;
  /** Stable reason for Events: BadAnnotation, PortConflict, UnsupportedProtocol. */
  readonly reason: string;
  readonly message: string;
}

export interface ListenPlan {
  /** Sorted by key. */
  readonly listeners: readonly ListenerSpec[];
  readonly problems: readonly PlanProblem[];
}

export interface ListenPlanOptions extends ClassFilter {
  /** "namespace/name" of the ingress entrypoint Service. */
  entrypoint: string;
  /** Entrypoint ports served at L7 (default 80 -> http, 443 -> https). */
  httpPort?: number;
  httpsPort?: number;
  /** Who forwards L4 ports of Services without metalgate.io/l4-dataplane (default proxy). */
  l4Dataplane?: L4Dataplane;
  /** Traefik TCP and UDP routes on entry points of their own: named ports of the entrypoint Service. */
  entryRoutes?: readonly EntryRoute[];
}

/** Whether kernel rules forward this port (src/proxy/kernel) instead of a listener: L4 ports whose Service gets the kernel dataplane. */
export function forwardedByKernel(l: ListenerSpec): boolean {
  return l.mode === 'l4' && l.l4.dataplane === 'kernel';
}

export function listenerKey(protocol: ListenerProtocol, ip: string, port: number): string {
  return ip.includes(':') ? `${protocol} [${ip}]:${port}` : `${protocol} ${ip}:${port}`;
}

export function planListeners(owned: ReadonlySet<string>, services: readonly V1Service[], opts: ListenPlanOptions): ListenPlan {
  const httpPort = opts.httpPort ?? 80;
  const httpsPort = opts.httpsPort ?? 443;
  const sorted = services.filter((s) => isOurs(s, opts)).sort((a, b) => cmp(serviceKeyOf(a), serviceKeyOf(b)));
  const byKey = new Map<string, ListenerSpec>();
  const problems: PlanProblem[] = [];
  const routes = new Map((opts.entryRoutes ?? []).map((r) => [`${r.protocol} ${r.entryPoint}`, listenerRoute(r)]));
  for (const svc of sorted) {
    const ips = statusIps(svc).filter((ip) => owned.has(ip));
    if (ips.length === 0) continue;
    const service = serviceKeyOf(svc);
    const serviceUid = svc.metadata?.uid;
    const parsed = parseL4Annotations(svc.metadata?.annotations, opts.l4Dataplane);
    for (const message of parsed.problems) problems.push({ service, serviceUid, reason: 'BadAnnotation', message });
    const ranges = parseSourceRanges(svc.spec?.loadBalancerSourceRanges, svc.metadata?.annotations);
    for (const message of ranges.problems) problems.push({ service, serviceUid, reason: 'BadSourceRange', message });
    const settings: L4Settings = ranges.cidrs === undefined ? parsed.settings : { ...parsed.settings, sourceRanges: ranges.cidrs };
    const isEntrypoint = service === opts.entrypoint;
    for (const p of svc.spec?.ports ?? []) {
      const protocol = p.protocol ?? 'TCP';
      if (protocol !== 'TCP' && protocol !== 'UDP') {
        problems.push({ service, serviceUid, reason: 'UnsupportedProtocol', message: `port ${p.port}/${protocol}: only TCP and UDP are proxied` });
        continue;
      }
      let mode: ListenerMode = 'l4';
      if (isEntrypoint && protocol === 'TCP') mode = p.port === httpPort ? 'http' : p.port === httpsPort ? 'https' : 'l4';
      const route = isEntrypoint && mode === 'l4' && p.name ? routes.get(`${protocol} ${p.name}`) : undefined;
      for (const ip of ips) {
        const key = listenerKey(protocol, ip, p.port);
        const taken = byKey.get(key);
        if (taken !== undefined) {
          problems.push({
            service,
            serviceUid,
            reason: 'PortConflict',
            message: `${key} is already served for ${taken.service}: not listening for this Service`,
          });
          continue;
        }
        const l4 = route === undefined || settings.dataplane === 'proxy' ? settings : { ...settings, dataplane: 'proxy' as const };
        byKey.set(key, { key, ip, port: p.port, protocol, service, serviceUid, portName: p.name ?? '', mode, l4, ...(route ? { route } : {}) });
      }
    }
  }
  const listeners = [...byKey.values()].sort((a, b) => cmp(a.key, b.key));
  return { listeners, problems };
}

function listenerRoute(r: EntryRoute): ListenerRoute {
  return {
    origin: r.origin,
    targets: listenerTargets(r.targets),
    ...(r.allow ? { allow: r.allow } : {}),
    ...(r.maxConnections ? { maxConnections: r.maxConnections } : {}),
    ...(r.tls ? { tls: r.tls } : {}),
    ...(r.byName ? { byName: r.byName.map((n) => ({ ...n, targets: listenerTargets(n.targets) })) } : {}),
  };
}

function listenerTargets(targets: EntryRoute['targets']): ListenerRoute['targets'] {
  return targets.map((t) => ({ service: `${t.ref.namespace}/${t.ref.service}`, portName: t.ref.portName, weight: t.weight }));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
