// One Traefik IngressRouteUDP -> the UDP routes of the entry points it names
// (named UDP ports of the entrypoint Service, entry-point-route.ts): every
// new flow (a client address and port) goes to one of its Services by
// weight, and stays there while it is active, as Traefik's UDP sessions do.
//
// UDP routes match nothing (a datagram carries no name), so one route per
// object; entryPoints must be named (Traefik's default, every UDP entry
// point, would take ports a user opened for something else).

import { DiagnosticSink, type Diagnostic, type ObjectRef } from '../model/diagnostic.ts';
import type { EntryRoute } from '../model/entry-route.ts';
import type { IngressRouteTcpObject } from '../model/traefik-crd.ts';
import type { ClusterView } from './cluster-view.ts';
import { entryPointProblem, weightedTargets, type EntrypointService } from './entry-point-route.ts';

export interface IngressRouteUdpTranslation {
  readonly ref: ObjectRef;
  readonly entryRoutes: readonly EntryRoute[];
  readonly diagnostics: readonly Diagnostic[];
  readonly ok: boolean;
}

export function translateIngressRouteUdp(o: IngressRouteTcpObject, view: ClusterView, entrypoint?: EntrypointService): IngressRouteUdpTranslation {
  const m = o.metadata ?? {};
  const ns = m.namespace ?? 'default';
  const ref: ObjectRef = { kind: 'IngressRouteUDP', apiVersion: o.apiVersion ?? 'traefik.io/v1alpha1', namespace: ns, name: m.name ?? '', ...(m.uid ? { uid: m.uid } : {}) };
  const sink = new DiagnosticSink(ref);
  const spec = o.spec ?? {};
  const fail = (): IngressRouteUdpTranslation => ({ ref, entryRoutes: [], diagnostics: sink.items, ok: false });
  const entryPoints = Array.isArray(spec.entryPoints) ? (spec.entryPoints as unknown[]) : [];
  if (entryPoints.length === 0 || !entryPoints.every((e) => typeof e === 'string' && e !== '')) {
    sink.error('NoEntryPoint', 'entryPoints must name the UDP entry points (named UDP ports of the entrypoint Service)');
    return fail();
  }
  for (const e of entryPoints as string[]) {
    const problem = entryPointProblem(view, entrypoint, e, 'UDP');
    if (problem !== undefined) sink.error('NoEntryPoint', `entryPoints: ${problem}`);
  }
  const routes = Array.isArray(spec.routes) ? (spec.routes as Record<string, unknown>[]) : [];
  if (routes.length !== 1) {
    sink.error('NoRoutes', `spec.routes: exactly one route is supported (got ${routes.length}): a UDP route matches nothing to choose between several by`);
    return fail();
  }
  const targets = weightedTargets(routes[0]!.services, 'routes[0]', ns, 'UDP', view, sink);
  if (targets === undefined || sink.hasErrors) return fail();
  const origin = `IngressRouteUDP ${ns}/${ref.name}`;
  const entryRoutes = (entryPoints as string[]).map((entryPoint) => ({ entryPoint, protocol: 'UDP' as const, targets, origin }));
  return { ref, entryRoutes, diagnostics: sink.items, ok: true };
}
