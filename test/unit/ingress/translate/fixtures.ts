// Small builders for Kubernetes objects in translator tests.
import type { V1Ingress, V1IngressClass, V1Secret, V1Service } from '@kubernetes/client-node';
import { IngressCompiler, type CompiledIngress } from '../../../../src/ingress/compile/ingress-compiler.ts';
import type { RouteTarget } from '../../../../src/ingress/model/route-target.ts';
import type { ServiceNode } from '../../../../src/ingress/model/service-node.ts';
import { EMPTY_REQUEST, type HttpRequestInfo } from '../../../../src/ingress/match/request-view.ts';
import { DiagnosticSink } from '../../../../src/ingress/model/diagnostic.ts';
import { parseNginxAnnotations } from '../../../../src/ingress/translate/nginx-annotations.ts';
import { tableOf } from '../../../support/compiled-tables.ts';

let clock = 0;

export function service(ns: string, name: string, ports: { name?: string; port: number }[] = [{ name: 'http', port: 80 }]): V1Service {
  return { metadata: { namespace: ns, name, resourceVersion: String(++clock) }, spec: { ports: ports.map((p) => ({ ...p, protocol: 'TCP' })) } };
}

export function ingressClass(name: string, controller = 'metalgate.io/ingress-controller', isDefault = false): V1IngressClass {
  return {
    metadata: { name, ...(isDefault ? { annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } } : {}) },
    spec: { controller },
  };
}

export function tlsSecret(ns: string, name: string): V1Secret {
  return { metadata: { namespace: ns, name }, type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } };
}

export interface PathSpec {
  path?: string;
  pathType?: 'Exact' | 'Prefix' | 'ImplementationSpecific';
  service: string;
  port?: number | string;
}

export function ingress(
  ns: string,
  name: string,
  rules: { host?: string; paths: PathSpec[] }[],
  extra: { annotations?: Record<string, string>; className?: string | null; tls?: { hosts?: string[]; secretName?: string }[]; defaultBackend?: PathSpec; created?: string } = {},
): V1Ingress {
  const backend = (p: PathSpec) => ({ service: { name: p.service, port: typeof (p.port ?? 80) === 'number' ? { number: (p.port ?? 80) as number } : { name: p.port as string } } });
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      namespace: ns,
      name,
      uid: `uid-${ns}-${name}`,
      resourceVersion: String(++clock),
      creationTimestamp: new Date(extra.created ?? `2026-01-01T00:00:${String(clock % 60).padStart(2, '0')}Z`),
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
    },
    spec: {
      ...(extra.className !== null ? { ingressClassName: extra.className ?? 'metalgate' } : {}),
      rules: rules.map((r) => ({
        ...(r.host ? { host: r.host } : {}),
        http: { paths: r.paths.map((p) => ({ path: p.path ?? '/', pathType: p.pathType ?? 'Prefix', backend: backend(p) })) },
      })),
      ...(extra.tls ? { tls: extra.tls } : {}),
      ...(extra.defaultBackend ? { defaultBackend: backend(extra.defaultBackend) } : {}),
    },
  };
}

export function request(host: string, path: string, more: Partial<HttpRequestInfo> = {}): HttpRequestInfo {
  return { ...EMPTY_REQUEST, host, path, ...more };
}

/** A compiler with our IngressClass and the given Services. */
export function compilerWith(services: V1Service[] = [], opts: ConstructorParameters<typeof IngressCompiler>[0] = {}): IngressCompiler {
  const c = new IngressCompiler(opts);
  c.setIngressClass(ingressClass('metalgate'));
  for (const s of services) c.setService(s);
  return c;
}

/** The Service name a request reaches (leaf or main of a split), or a label. */
export function serviceOf(node: ServiceNode | undefined): string {
  if (node === undefined) return 'none';
  switch (node.kind) {
    case 'leaf':
      return node.ref.service;
    case 'canary':
      return `canary(${serviceOf(node.main)},${serviceOf(node.canary)})`;
    case 'weighted':
      return `weighted(${node.children.map((c) => `${serviceOf(c.node)}:${c.weight}`).join(',')})`;
    case 'mirror':
      return `mirror(${serviceOf(node.main)};${node.mirrors.map((m) => `${serviceOf(m.node)}@${m.percent}`).join(',')})`;
  }
}

export function lookupService(c: CompiledIngress, req: HttpRequestInfo, ep: 'web' | 'websecure' = 'websecure'): string {
  const t = tableOf(c, ep).lookup(req);
  if (t === undefined) return '404';
  if (t.response) return `response:${t.middlewares.map((m) => m.spec.type).join(',')}`;
  return serviceOf(t.service);
}

export function reasons(c: CompiledIngress, name?: string): string[] {
  return c.diagnostics.filter((d) => name === undefined || d.ref.name === name).map((d) => d.reason);
}

export const NGINX = 'nginx.ingress.kubernetes.io/';

/** ingress-nginx annotations (names without the prefix) -> the parsed config and `severity:reason:message` lines. */
export function parseNginx(a: Record<string, string>) {
  const sink = new DiagnosticSink({ kind: 'Ingress', apiVersion: 'networking.k8s.io/v1', namespace: 'ns', name: 'x' });
  const config = parseNginxAnnotations(Object.fromEntries(Object.entries(a).map(([k, v]) => [NGINX + k, v])), sink);
  return { config, diags: sink.items.map((d) => `${d.severity}:${d.reason}:${d.message}`) };
}
