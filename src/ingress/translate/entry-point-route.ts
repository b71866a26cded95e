// What Traefik's TCP and UDP routes on an entry point of their own share:
// the entry point (a named port of the entrypoint Service, as Traefik's
// static entryPoints name ports) and the weighted Services behind it.
//
// An entry point is the entrypoint Service's port of that name and protocol:
// a user adds `- name: postgres, port: 5432` to metalgate-ingress and routes
// `entryPoints: [postgres]` there. `web` and `websecure` are the HTTP ports
// and take no route of their own here. Not a listener plan: the proxy puts
// the routes on its listeners (listen-plan.ts).

import type { V1Service } from '@kubernetes/client-node';
import type { DiagnosticSink } from '../model/diagnostic.ts';
import type { EntryRouteTarget } from '../model/entry-route.ts';
import type { ClusterView } from './cluster-view.ts';
import { resolveServicePort } from './service-port.ts';

/** The entrypoint Service, by namespace and name. */
export interface EntrypointService {
  readonly namespace: string;
  readonly name: string;
}

/** The HTTP entry points: served by the HTTP engine, never by a TCP or UDP route. */
const HTTP_ENTRY_POINTS: ReadonlySet<string> = new Set(['web', 'websecure']);
/** The entrypoint Service's TCP ports the proxy serves at HTTP level, whatever their names (listen-plan.ts). */
const HTTP_PORTS: ReadonlySet<number> = new Set([80, 443]);

/**
 * The error for `entryPoint`, or undefined when the entrypoint Service has a
 * port of that name and protocol (or no entrypoint Service is known: the
 * proxy then finds no such port and serves nothing, which is said there).
 */
export function entryPointProblem(view: ClusterView, entrypoint: EntrypointService | undefined, entryPoint: string, protocol: 'TCP' | 'UDP'): string | undefined {
  if (HTTP_ENTRY_POINTS.has(entryPoint)) return `entry point ${entryPoint} serves HTTP; a ${protocol} route needs an entry point of its own`;
  if (entrypoint === undefined) return undefined;
  const svc: V1Service | undefined = view.service(entrypoint.namespace, entrypoint.name);
  if (svc === undefined) return `the entrypoint Service ${entrypoint.namespace}/${entrypoint.name} is not found`;
  const port = (svc.spec?.ports ?? []).find((p) => p.name === entryPoint);
  if (port === undefined) return `the entrypoint Service ${entrypoint.namespace}/${entrypoint.name} has no port named ${entryPoint}: add one (${protocol}) to open this entry point`;
  if ((port.protocol ?? 'TCP') !== protocol) return `port ${entryPoint} of the entrypoint Service ${entrypoint.namespace}/${entrypoint.name} is ${port.protocol ?? 'TCP'}, not ${protocol}`;
  if (protocol === 'TCP' && HTTP_PORTS.has(port.port)) return `port ${entryPoint} (${port.port}) of the entrypoint Service ${entrypoint.namespace}/${entrypoint.name} serves HTTP; a TCP route needs a port of its own`;
  return undefined;
}

/** Fields of a weighted service metalgate does not act on but that change nothing it serves. */
const IGNORED_SERVICE_FIELDS = new Set(['nativeLB', 'nodePortLB', 'terminationDelay']);

/**
 * A route's `services` -> weighted targets (Traefik's default weight is 1;
 * 0 takes nothing while others have endpoints); undefined after an error
 * on `sink`. Services of the route's namespace only, by name and port.
 */
export function weightedTargets(services: unknown, where: string, ns: string, protocol: 'TCP' | 'UDP', view: ClusterView, sink: DiagnosticSink): EntryRouteTarget[] | undefined {
  if (!Array.isArray(services) || services.length === 0) {
    sink.error('UnsupportedBackend', `${where}.services: at least one Service is required`);
    return undefined;
  }
  const targets: EntryRouteTarget[] = [];
  for (const [i, raw] of services.entries()) {
    const at = `${where}.services[${i}]`;
    const s = raw as Record<string, unknown> | null;
    if (s === null || typeof s !== 'object' || typeof s.name !== 'string' || s.name === '' || (s.namespace !== undefined && s.namespace !== ns)) {
      sink.error('UnsupportedBackend', `${at}: a Service of the route's namespace, by name`);
      return undefined;
    }
    for (const key of Object.keys(s)) {
      if (['name', 'namespace', 'port', 'weight'].includes(key) || s[key] === undefined || s[key] === null) continue;
      if (IGNORED_SERVICE_FIELDS.has(key)) {
        sink.warn('IgnoredField', `${at}.${key} is ignored: metalgate balances over the Service's endpoints itself`);
        continue;
      }
      // proxyProtocol, tls, serversTransport: each would change what the backend gets.
      sink.error('UnsupportedBackend', `${at}.${key} is not supported`);
      return undefined;
    }
    const weight = s.weight ?? 1;
    if (typeof weight !== 'number' || !Number.isSafeInteger(weight) || weight < 0) {
      sink.error('BadField', `${at}.weight must be a non-negative integer`);
      return undefined;
    }
    const r = resolveServicePort(view, ns, s.name, s.port as number | string | undefined, protocol);
    if (!r.ok) {
      sink.error(r.reason, `${at}: ${r.error}`);
      return undefined;
    }
    targets.push({ ref: r.ref, weight });
  }
  if (targets.every((t) => t.weight === 0)) {
    sink.error('BadField', `${where}.services: every weight is 0, so nothing would be served`);
    return undefined;
  }
  return targets;
}

/** Traefik allow-lists take plain addresses too: the /32 or /128 each means. */
export function asCidrs(ranges: readonly string[]): string[] {
  return ranges.map((r) => (r.includes('/') ? r : r.includes(':') ? `${r}/128` : `${r}/32`));
}
