// The minimal Ingress reading the proxy needs until the full rule engine
// (src/ingress/model) sits behind the same Router: which Ingresses
// are ours, their host + path rules with the Service port each sends to, the
// default backend, and the TLS Secrets they reference. Pure: objects in,
// routes/TLS references/problems out.

import type { V1Ingress, V1Service } from '@kubernetes/client-node';

export interface IngressClassFilter {
  /** Our IngressClass name (spec.ingressClassName, or the legacy kubernetes.io/ingress.class annotation). */
  className: string;
  /** Also serve Ingresses that name no class. */
  withoutClass: boolean;
}

export const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

export interface IngressRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string | undefined;
}

/** One Service port, as EndpointSlices key it. */
export interface ServicePortTarget {
  readonly namespace: string;
  readonly service: string;
  readonly portName: string;
}

export interface IngressRoute {
  /** Unique and stable: `ns/name#rule/path`. */
  readonly id: string;
  readonly ingress: IngressRef;
  readonly host: string | undefined;
  readonly path: string | undefined;
  readonly pathType: 'Exact' | 'Prefix' | 'ImplementationSpecific' | undefined;
  readonly target: ServicePortTarget;
}

export interface IngressTlsRef {
  readonly ingress: IngressRef;
  /** `ns/name` of the kubernetes.io/tls Secret. */
  readonly secret: string;
  readonly hosts: readonly string[];
}

export interface IngressProblem {
  readonly ingress: IngressRef;
  readonly reason: string;
  readonly message: string;
}

export interface IngressReading {
  readonly routes: readonly IngressRoute[];
  /** From the first Ingress (by namespace/name) with spec.defaultBackend. */
  readonly defaultBackend: ServicePortTarget | undefined;
  readonly tls: readonly IngressTlsRef[];
  readonly problems: readonly IngressProblem[];
}

export function isOurIngress(ing: V1Ingress, f: IngressClassFilter): boolean {
  const cls = ing.spec?.ingressClassName ?? ing.metadata?.annotations?.[LEGACY_CLASS_ANNOTATION];
  if (cls === undefined || cls === '') return f.withoutClass;
  return cls === f.className;
}

/**
 * `services` resolves Service names to objects (namespace/name keys) so a
 * backend given by port number finds the port's name. A Service not there
 * (yet) still routes - to no endpoints, which answers 503 - and is reported.
 */
export function readIngresses(
  ingresses: readonly V1Ingress[],
  services: (key: string) => V1Service | undefined,
  filter: IngressClassFilter,
): IngressReading {
  const ours = ingresses.filter((i) => isOurIngress(i, filter)).sort((a, b) => cmp(keyOf(a), keyOf(b)));
  const routes: IngressRoute[] = [];
  const tls: IngressTlsRef[] = [];
  const problems: IngressProblem[] = [];
  let defaultBackend: ServicePortTarget | undefined;
  for (const ing of ours) {
    const ref: IngressRef = { namespace: ing.metadata?.namespace ?? 'default', name: ing.metadata?.name ?? '', uid: ing.metadata?.uid };
    const problem = (reason: string, message: string) => problems.push({ ingress: ref, reason, message });
    const resolve = (backend: NonNullable<NonNullable<V1Ingress['spec']>['defaultBackend']>, where: string): ServicePortTarget | undefined => {
      const s = backend.service;
      if (s === undefined) {
        problem('UnsupportedBackend', `${where}: only Service backends are supported`);
        return undefined;
      }
      const svc = services(`${ref.namespace}/${s.name}`);
      let portName: string | undefined;
      if (s.port?.name !== undefined && s.port.name !== '') {
        portName = s.port.name;
        if (svc !== undefined && !(svc.spec?.ports ?? []).some((p) => (p.name ?? '') === portName)) {
          problem('BackendPortNotFound', `${where}: Service ${ref.namespace}/${s.name} has no port named "${portName}"`);
        }
      } else if (typeof s.port?.number === 'number') {
        const p = (svc?.spec?.ports ?? []).find((x) => x.port === s.port!.number);
        if (p !== undefined) portName = p.name ?? '';
        else if (svc !== undefined) problem('BackendPortNotFound', `${where}: Service ${ref.namespace}/${s.name} has no port ${s.port.number}`);
      } else {
        problem('BadBackend', `${where}: backend port needs a name or a number`);
        return undefined;
      }
      if (svc === undefined) problem('BackendServiceNotFound', `${where}: Service ${ref.namespace}/${s.name} not found (answered 503)`);
      return { namespace: ref.namespace, service: s.name, portName: portName ?? '' };
    };

    const db = ing.spec?.defaultBackend;
    if (db !== undefined) {
      const t = resolve(db, 'defaultBackend');
      if (t !== undefined && defaultBackend === undefined) defaultBackend = t;
    }
    (ing.spec?.rules ?? []).forEach((rule, ri) => {
      (rule.http?.paths ?? []).forEach((p, pi) => {
        const id = `${ref.namespace}/${ref.name}#${ri}/${pi}`;
        const target = resolve(p.backend, `rules[${ri}].http.paths[${pi}]`);
        if (target === undefined) return;
        const pathType = p.pathType === 'Exact' || p.pathType === 'Prefix' || p.pathType === 'ImplementationSpecific' ? p.pathType : undefined;
        routes.push({ id, ingress: ref, host: rule.host || undefined, path: p.path || undefined, pathType, target });
      });
    });
    for (const t of ing.spec?.tls ?? []) {
      if (!t.secretName) continue;
      tls.push({ ingress: ref, secret: `${ref.namespace}/${t.secretName}`, hosts: t.hosts ?? [] });
    }
  }
  return { routes, defaultBackend, tls, problems };
}

function keyOf(i: V1Ingress): string {
  return `${i.metadata?.namespace ?? ''}/${i.metadata?.name ?? ''}`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
