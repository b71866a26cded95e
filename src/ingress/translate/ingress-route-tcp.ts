// One Traefik IngressRouteTCP -> the TLS hosts of the websecure entry point
// it takes: HostSNI(`name`) routes with tls.passthrough go, undecrypted, to
// the Service port (as ingress-nginx's ssl-passthrough); with tls.secretName
// (or the default certificate) the TLS is terminated here and the plaintext
// goes to the Service port as TCP. Both by the ClientHello's server name, on
// the same 443 as the HTTP routes.
//
// TCP middlewares (MiddlewareTCP of the route's namespace): ipAllowList (or
// ipWhiteList) and inFlightConn, checked when a connection is handed over.
//
// On an entry point of its own (a named TCP port of the entrypoint Service,
// entry-point-route.ts): HostSNI(`name`) routes, chosen by the ClientHello's
// server name, and one HostSNI(`*`) route for every other connection (none:
// such connections are closed); each route's connections go to its Services
// by weight, and ipAllowList and inFlightConn may guard it. With tls (not
// passthrough) the proxy terminates TLS there with tls.secretName's
// certificate (or the default one) and forwards the plaintext; with
// passthrough a named route gets the TLS bytes untouched. Several objects
// share an entry point: the compiler gives each host, and the catch-all, to
// the oldest.
//
// Several Services on a route take its connections by weight (Traefik's
// weighted round robin), on websecure as on an entry point of its own.
//
// Not served, each with an error on the object: on websecure, HostSNI(`*`)
// and routes without TLS; on an entry point of its own, host names without
// tls; anywhere, wildcard names, HostSNIRegexp, other TCP middlewares,
// several allow-lists on one route, proxyProtocol, tls.options.

import { DiagnosticSink, type Diagnostic, type ObjectRef } from '../model/diagnostic.ts';
import type { ServicePortRef } from '../model/service-node.ts';
import type { IngressRouteTcpObject } from '../model/traefik-crd.ts';
import type { ClusterView } from './cluster-view.ts';
import type { CertificateRequirement } from './ingress.ts';
import { parseIpNetwork } from '../match/ip-match.ts';
import type { EntryRoute, EntryRouteTarget, NamedEntryRoute } from '../model/entry-route.ts';
import { asCidrs, entryPointProblem, weightedTargets, type EntrypointService } from './entry-point-route.ts';

export interface TcpHost {
  readonly host: string;
  readonly ref: ServicePortRef;
  /** Several Services: each connection to one of them by weight (`ref` is the first one that can be chosen). */
  readonly weighted?: readonly EntryRouteTarget[];
  readonly allow?: readonly string[];
  readonly maxConnections?: number;
}

type TcpLimits = { allow?: string[]; maxConnections?: number };

/** A route's `middlewares` -> the limits they set, or an error text. */
function tcpLimits(refs: unknown[], ns: string, view: ClusterView): TcpLimits | string {
  const limits: TcpLimits = {};
  for (const [i, r] of refs.entries()) {
    const ref = r as { name?: unknown; namespace?: unknown } | null;
    const where = `middlewares[${i}]`;
    if (ref === null || typeof ref !== 'object' || typeof ref.name !== 'string' || ref.name === '') return `${where} must name a MiddlewareTCP`;
    if (ref.name.includes('@') || (ref.namespace !== undefined && ref.namespace !== ns)) return `${where}: only a MiddlewareTCP of the route's namespace, by name, is supported`;
    const m = view.middlewareTcp(ns, ref.name);
    if (m === undefined) return `${where}: MiddlewareTCP ${ns}/${ref.name} not found`;
    const spec = m.spec ?? {};
    const keys = Object.keys(spec).filter((k) => spec[k] !== undefined && spec[k] !== null);
    if (keys.length !== 1) return `${where}: MiddlewareTCP ${ns}/${ref.name} must declare one type`;
    const type = keys[0]!;
    const o = spec[type] as Record<string, unknown>;
    if (type === 'ipAllowList' || type === 'ipWhiteList') {
      // Two lists would mean "in both"; merging them would let in what one refuses.
      if (limits.allow !== undefined) return `${where}: one ipAllowList per TCP route is supported`;
      const ranges = o?.sourceRange;
      if (!Array.isArray(ranges) || ranges.length === 0 || !ranges.every((x) => typeof x === 'string' && parseIpNetwork(x) !== null)) {
        return `${where}: MiddlewareTCP ${ns}/${ref.name}: ${type}.sourceRange must list IP addresses or CIDRs`;
      }
      limits.allow = ranges as string[];
    } else if (type === 'inFlightConn') {
      const amount = o?.amount;
      if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 1) return `${where}: MiddlewareTCP ${ns}/${ref.name}: inFlightConn.amount must be a positive integer`;
      limits.maxConnections = Math.min(limits.maxConnections ?? amount, amount);
    } else return `${where}: MiddlewareTCP ${ns}/${ref.name}: ${type} is not supported (ipAllowList, ipWhiteList, inFlightConn)`;
  }
  return limits;
}

export interface IngressRouteTcpTranslation {
  readonly ref: ObjectRef;
  /** Hosts passed through undecrypted. */
  readonly passthrough: readonly TcpHost[];
  /** Hosts terminated here, their plaintext sent on. */
  readonly terminated: readonly TcpHost[];
  readonly certificates: readonly CertificateRequirement[];
  /** Routes on entry points of their own. */
  readonly entryRoutes: readonly EntryRoute[];
  readonly diagnostics: readonly Diagnostic[];
  readonly ok: boolean;
}

const HOST_SNI = /^HostSNI\(\s*((?:`[^`]*`\s*,\s*)*`[^`]*`)\s*\)$/;

/** `HostSNI(`a`) || HostSNI(`b`, `c`)` -> names; undefined when the rule is anything else. */
export function hostSniNames(match: string): string[] | undefined {
  const names: string[] = [];
  for (const part of match.split('||')) {
    const m = HOST_SNI.exec(part.trim());
    if (m === null) return undefined;
    for (const q of m[1]!.matchAll(/`([^`]*)`/g)) names.push(q[1]!.toLowerCase());
  }
  return names;
}

/** A route's HostSNI names; undefined when its match is something else (reported). */
function routeNames(route: Record<string, unknown>, where: string, sink: DiagnosticSink): string[] | undefined {
  const names = typeof route.match === 'string' ? hostSniNames(route.match) : undefined;
  if (names === undefined) sink.error('BadRule', `${where}.match ${JSON.stringify(route.match)}: only HostSNI(\`name\`, ...) rules joined by || are supported`);
  return names;
}

/** A route's guards (its MiddlewareTCPs) and its Services by weight; undefined when either is in error (reported). */
function routeBackends(route: Record<string, unknown>, where: string, ns: string, view: ClusterView, sink: DiagnosticSink): { limits: TcpLimits; targets: EntryRouteTarget[] } | undefined {
  const limits = Array.isArray(route.middlewares) ? tcpLimits(route.middlewares as unknown[], ns, view) : {};
  if (typeof limits === 'string') {
    sink.error('BadMiddleware', `${where}.${limits}; the route is not served rather than served without it`);
    return undefined;
  }
  const targets = weightedTargets(route.services, where, ns, 'TCP', view, sink);
  return targets === undefined ? undefined : { limits, targets };
}

type TcpTls = NonNullable<NonNullable<IngressRouteTcpObject['spec']>['tls']>;

/** The tls fields metalgate does not act on are errors (they change what clients are offered). */
function checkTlsFields(tls: TcpTls, sink: DiagnosticSink): void {
  for (const k of ['options', 'certResolver', 'domains', 'store'] as const) {
    if (tls[k] !== undefined && tls[k] !== null) sink.error('UnsupportedField', `tls.${k} is not supported on IngressRouteTCP`);
  }
  if (tls.passthrough !== undefined && typeof tls.passthrough !== 'boolean') sink.error('BadField', 'tls.passthrough must be a boolean');
  if (tls.secretName !== undefined && typeof tls.secretName !== 'string') sink.error('BadField', 'tls.secretName must be a string');
}

/** `entrypoint`: the entrypoint Service, whose named ports are the entry points of TCP routes of their own. */
export function translateIngressRouteTcp(o: IngressRouteTcpObject, view: ClusterView, entrypoint?: EntrypointService): IngressRouteTcpTranslation {
  const m = o.metadata ?? {};
  const ns = m.namespace ?? 'default';
  const ref: ObjectRef = { kind: 'IngressRouteTCP', apiVersion: o.apiVersion ?? 'traefik.io/v1alpha1', namespace: ns, name: m.name ?? '', ...(m.uid ? { uid: m.uid } : {}) };
  const sink = new DiagnosticSink(ref);
  const spec = o.spec ?? {};
  const passthrough: TcpHost[] = [];
  const terminated: TcpHost[] = [];
  const certificates: CertificateRequirement[] = [];
  const entryPoints = Array.isArray(spec.entryPoints) ? (spec.entryPoints as unknown[]) : [];
  if (!entryPoints.every((e) => typeof e === 'string' && e !== '')) sink.error('BadField', 'entryPoints must list entry point names');
  const own = (entryPoints as string[]).filter((e) => e !== 'websecure');
  if (own.length > 0) {
    if (entryPoints.includes('websecure')) sink.error('NoEntryPoint', `entryPoints ${JSON.stringify(entryPoints)}: websecure (by TLS server name) and entry points of their own cannot share a route here: split it`);
    else {
      const { routes: entryRoutes, secretKey } = ownEntryPointRoutes(spec, own, ns, ref, view, entrypoint, sink);
      if (secretKey !== undefined && entryRoutes.length > 0) certificates.push({ secretKey, hosts: [], origin: ref });
      return { ref, passthrough, terminated, certificates: sink.hasErrors ? [] : certificates, entryRoutes: sink.hasErrors ? [] : entryRoutes, diagnostics: sink.items, ok: !sink.hasErrors };
    }
  }
  const tls = spec.tls ?? undefined;
  if (tls !== undefined) checkTlsFields(tls, sink);
  if (tls === undefined) sink.error('NeedsTls', 'a TCP route without tls needs an entry point of its own: name a TCP port of the entrypoint Service in entryPoints (or use a LoadBalancer Service)');
  const pass = tls?.passthrough === true;
  const routes = Array.isArray(spec.routes) ? (spec.routes as Record<string, unknown>[]) : [];
  if (routes.length === 0) sink.error('NoRoutes', 'spec.routes is empty');
  const hosts: string[] = [];
  routes.forEach((route, i) => {
    const where = `routes[${i}]`;
    const names = routeNames(route, where, sink);
    if (names === undefined) return;
    if (names.some((n) => n === '*' || n === '' || n.includes('*'))) {
      sink.error('BadRule', `${where}.match: HostSNI(\`*\`) and wildcards need a TCP entry point of their own (a named port of the entrypoint Service); on websecure, name the hosts`);
      return;
    }
    const served = routeBackends(route, where, ns, view, sink);
    if (served === undefined) return;
    const { limits, targets } = served;
    // One Service: its port; several: each connection to one of them by weight.
    const first = targets.find((t) => t.weight > 0)!;
    const weighted = targets.length > 1 ? { weighted: targets } : {};
    for (const host of names) {
      hosts.push(host);
      (pass ? passthrough : terminated).push({ host, ref: first.ref, ...weighted, ...(limits.allow ? { allow: limits.allow } : {}), ...(limits.maxConnections ? { maxConnections: limits.maxConnections } : {}) });
    }
  });
  if (tls !== undefined && !pass && typeof tls.secretName === 'string' && tls.secretName !== '') {
    if (view.secret(ns, tls.secretName) === undefined) sink.warn('MissingSecret', `tls.secretName: Secret ${ns}/${tls.secretName} not found; the default certificate is served`);
    certificates.push({ secretKey: `${ns}/${tls.secretName}`, hosts: [...new Set(hosts)].sort(), origin: ref });
  }
  return { ref, passthrough, terminated, certificates, entryRoutes: [], diagnostics: sink.items, ok: !sink.hasErrors };
}

/**
 * Routes on entry points of their own: at most one HostSNI(`*`) route (the
 * catch-all) and any number of HostSNI(`name`, ...) routes, which need tls
 * (the server name is the ClientHello's); each with its Services by weight,
 * optional ipAllowList and inFlightConn; TLS terminated or passed through as
 * `tls` says, for every route of the object (Traefik's tls is the object's).
 * The same routes on each named entry point.
 */
function ownEntryPointRoutes(
  spec: NonNullable<IngressRouteTcpObject['spec']>,
  entryPoints: readonly string[],
  ns: string,
  ref: ObjectRef,
  view: ClusterView,
  entrypoint: EntrypointService | undefined,
  sink: DiagnosticSink,
): { routes: EntryRoute[]; secretKey: string | undefined } {
  const none = { routes: [], secretKey: undefined };
  for (const e of entryPoints) {
    const problem = entryPointProblem(view, entrypoint, e, 'TCP');
    if (problem !== undefined) sink.error('NoEntryPoint', `entryPoints: ${problem}`);
  }
  const tls = spec.tls ?? undefined;
  if (tls !== undefined) checkTlsFields(tls, sink);
  const passthrough = tls !== undefined && tls.passthrough === true;
  // Passed through, TLS is bytes like any other: a catch-all forwards it as without tls.
  const terminate = tls !== undefined && !passthrough;
  const secretName = terminate && typeof tls.secretName === 'string' && tls.secretName !== '' ? tls.secretName : undefined;
  if (secretName !== undefined && view.secret(ns, secretName) === undefined) sink.warn('MissingSecret', `tls.secretName: Secret ${ns}/${secretName} not found; the default certificate is served`);
  const secretKey = secretName !== undefined ? `${ns}/${secretName}` : undefined;
  const routes = Array.isArray(spec.routes) ? (spec.routes as Record<string, unknown>[]) : [];
  if (routes.length === 0) {
    sink.error('NoRoutes', 'spec.routes is empty');
    return none;
  }
  const origin = `IngressRouteTCP ${ref.namespace}/${ref.name}`;
  let catchAll: { targets: EntryRouteTarget[]; limits: TcpLimits } | undefined;
  const byName: NamedEntryRoute[] = [];
  const hostsSeen = new Set<string>();
  routes.forEach((route, i) => {
    const where = `routes[${i}]`;
    const names = routeNames(route, where, sink);
    if (names === undefined) return;
    const all = names.includes('*');
    if (all && names.length > 1) {
      sink.error('BadRule', `${where}.match: HostSNI(\`*\`) matches every connection: it cannot be combined with names`);
      return;
    }
    if (all && catchAll !== undefined) {
      sink.error('BadRule', `${where}.match: a second HostSNI(\`*\`) route: one catch-all per IngressRouteTCP`);
      return;
    }
    if (!all && names.some((n) => n === '' || n.includes('*'))) {
      sink.error('BadRule', `${where}.match: wildcard server names are not supported (name each host; HostSNIRegexp is not supported either)`);
      return;
    }
    if (!all && tls === undefined) {
      sink.error('NeedsTls', `${where}.match: HostSNI(\`name\`) matches the TLS server name: the route needs tls (terminated, or passthrough: true)`);
      return;
    }
    const served = routeBackends(route, where, ns, view, sink);
    if (served === undefined) return;
    const { limits, targets } = served;
    if (all) {
      catchAll = { targets, limits };
      return;
    }
    const hosts: string[] = [];
    for (const h of names) {
      if (hostsSeen.has(h)) sink.warn('DuplicateTcpHost', `${where}: ${h} is already routed by an earlier route of this object: ignored here`);
      else hosts.push(h);
      hostsSeen.add(h);
    }
    if (hosts.length === 0) return;
    byName.push({
      hosts,
      targets,
      ...(limits.allow ? { allow: asCidrs(limits.allow) } : {}),
      ...(limits.maxConnections ? { maxConnections: limits.maxConnections } : {}),
      tls: passthrough ? 'passthrough' : secretKey !== undefined ? { secretKey } : {},
      origin,
    });
  });
  if (sink.hasErrors) return none;
  const c = catchAll;
  return {
    secretKey,
    routes: entryPoints.map((entryPoint) => ({
      entryPoint,
      protocol: 'TCP' as const,
      targets: c?.targets ?? [],
      ...(c?.limits.allow ? { allow: asCidrs(c.limits.allow) } : {}),
      ...(c?.limits.maxConnections ? { maxConnections: c.limits.maxConnections } : {}),
      ...(c !== undefined && terminate ? { tls: secretKey !== undefined ? { secretKey } : {} } : {}),
      origin,
      ...(byName.length > 0 ? { byName } : {}),
    })),
  };
}
