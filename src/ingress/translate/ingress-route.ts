// One Traefik IngressRoute (traefik.io or traefik.containo.us, v1alpha1) ->
// route specs for the entry points it serves, with every problem reported
// on the IngressRoute. Traefik's semantics:
// - entryPoints: `web` and/or `websecure`; none listed = every entry point.
// - routes[].match: the rule, parsed with routes[].syntax (v2 or v3;
//   default the configured default, v3 as in Traefik 3); priority 0/absent
//   = the rule's length.
// - routes[].services: one Service/TraefikService, or several balanced by
//   weight.
// - routes[].middlewares: `{name, namespace}` (namespace defaults to the
//   IngressRoute's), or Traefik's provider-qualified `<ns>-<name>@kubernetescrd`.
// - tls: the router serves TLS connections only (its web side is dropped);
//   tls.secretName is a kubernetes.io/tls Secret in the same namespace;
//   tls.options names a TLSOption (namespace defaults to the route's), else
//   the TLSOption named `default` applies if there is one (tls-option.ts):
//   its settings go to the hosts of the route's Host() rules, and its
//   clientAuth check runs first on every route.

import { compileTraefikRule } from '../match/traefik-rule-compiler.ts';
import type { RuleSyntax } from '../match/traefik-rule-matchers.ts';
import type { CompiledTraefikRule } from '../match/traefik-rule-compiler.ts';
import { DiagnosticSink, type Diagnostic, type ObjectRef } from '../model/diagnostic.ts';
import type { NamedMiddleware } from '../model/middleware-spec.ts';
import type { EntryPointName } from '../model/route-target.ts';
import type { ServiceNode } from '../model/service-node.ts';
import { groupOf, type IngressRouteObject, type TlsOptionObject } from '../model/traefik-crd.ts';
import type { ClusterView } from './cluster-view.ts';
import type { CertificateRequirement } from './ingress.ts';
import { resolveMiddlewareRef } from './middleware-ref.ts';
import { resolveServiceRefs } from './traefik-service.ts';
import { tlsOptionSettings, type TlsOptionSettings } from './tls-option.ts';

export interface TraefikTranslateOptions {
  readonly allowCrossNamespace: boolean;
  /** Default rule syntax (Traefik's core.defaultRuleSyntax); v3 by default. */
  readonly defaultSyntax?: RuleSyntax;
}

export interface TraefikRouteEntry {
  readonly id: string;
  readonly routeName: string;
  readonly rule: CompiledTraefikRule;
  readonly priority: number;
  readonly entryPoints: ReadonlySet<EntryPointName>;
  readonly service: ServiceNode;
  readonly middlewares: readonly NamedMiddleware[];
}

export interface IngressRouteTranslation {
  readonly ref: ObjectRef;
  readonly routes: readonly TraefikRouteEntry[];
  readonly certificates: readonly CertificateRequirement[];
  /** The TLSOption's settings for each host of the route's Host() rules. */
  readonly hostTls: readonly ({ readonly host: string } & TlsOptionSettings['tls'])[];
  readonly diagnostics: readonly Diagnostic[];
  readonly ok: boolean;
}

function ingressRouteRef(ir: IngressRouteObject): ObjectRef {
  const m = ir.metadata ?? {};
  return {
    kind: 'IngressRoute',
    apiVersion: ir.apiVersion ?? 'traefik.io/v1alpha1',
    namespace: m.namespace ?? 'default',
    name: m.name ?? '',
    ...(m.uid ? { uid: m.uid } : {}),
    ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
  };
}

const ENTRY_POINTS: readonly EntryPointName[] = ['web', 'websecure'];

export function translateIngressRoute(ir: IngressRouteObject, view: ClusterView, opts: TraefikTranslateOptions): IngressRouteTranslation {
  const ref = ingressRouteRef(ir);
  const sink = new DiagnosticSink(ref);
  const ns = ref.namespace;
  const group = groupOf(ir.apiVersion) ?? 'traefik.io';
  const spec = ir.spec ?? {};

  const declared = Array.isArray(spec.entryPoints) ? spec.entryPoints : [];
  const entryPoints = new Set<EntryPointName>();
  for (const e of declared) {
    if (e === 'web' || e === 'websecure') entryPoints.add(e);
    else sink.warn('UnknownEntryPoint', `entryPoints: ${JSON.stringify(e)} is not served by metalgate (web, websecure)`);
  }
  if (declared.length === 0) for (const e of ENTRY_POINTS) entryPoints.add(e);
  if (spec.tls) {
    // A TLS router only matches TLS connections.
    entryPoints.delete('web');
    if (declared.length > 0 && !declared.includes('websecure') && declared.includes('web')) {
      sink.warn('TlsOnPlainEntryPoint', 'tls is set but the only entry point is web: the route serves nothing');
    }
  }
  if (entryPoints.size === 0 && declared.length > 0) sink.error('NoEntryPoint', 'none of the entryPoints is served by metalgate (web, websecure)');

  const option = spec.tls ? tlsOptionOf(spec.tls.options, ns, view, sink) : undefined;
  const routes: TraefikRouteEntry[] = [];
  const ruleHosts = new Set<string>();
  const list = Array.isArray(spec.routes) ? spec.routes : [];
  if (list.length === 0) sink.error('NoRoutes', 'spec.routes is empty');
  list.forEach((route, i) => {
    const where = `routes[${i}]`;
    if (route.kind !== undefined && route.kind !== 'Rule') {
      sink.error('BadRoute', `${where}.kind ${JSON.stringify(route.kind)} is not Rule`);
      return;
    }
    if (typeof route.match !== 'string' || route.match.trim() === '') {
      sink.error('BadRule', `${where}.match is required`);
      return;
    }
    const syntaxText = route.syntax ?? opts.defaultSyntax ?? 'v3';
    if (syntaxText !== 'v2' && syntaxText !== 'v3') {
      sink.error('BadRule', `${where}.syntax ${JSON.stringify(syntaxText)} is not v2 or v3`);
      return;
    }
    const compiled = compileTraefikRule(route.match, { syntax: syntaxText });
    if (!compiled.ok) {
      // The parser's message carries the position ("... at 17").
      sink.error('BadRule', `${where}.match ${JSON.stringify(route.match)}: ${compiled.error.message}`);
      return;
    }
    for (const h of compiled.rule.hosts ?? []) ruleHosts.add(h);
    const priority = route.priority ?? 0;
    if (typeof priority !== 'number' || !Number.isSafeInteger(priority)) {
      sink.error('BadRoute', `${where}.priority must be an integer`);
      return;
    }
    const svc = resolveServiceRefs(route.services, ns, view, opts, `${ns}-${ref.name}-${i}@kubernetescrd`);
    if (!svc.ok) {
      sink.error(svc.reason, `${where}.services: ${svc.error}`);
      return;
    }
    for (const w of svc.warnings) sink.warn('IgnoredField', `${where}.services: ${w}`);
    const middlewares: NamedMiddleware[] = [];
    let middlewaresOk = true;
    for (const [mi, m] of (route.middlewares ?? []).entries()) {
      const r = resolveMiddlewareRef(m, ns, view, opts.allowCrossNamespace);
      if (!r.ok) {
        sink.error(r.reason, `${where}.middlewares[${mi}]: ${r.error}`);
        middlewaresOk = false;
        continue;
      }
      for (const spec of r.specs) middlewares.push({ name: r.name, spec });
    }
    if (!middlewaresOk) return;
    if (option?.clientCert !== undefined) {
      if (!compiled.rule.hosts?.length) {
        sink.error('TlsOptionNeedsHost', `${where}.match: the TLSOption asks for client certificates, which needs the route's hosts named in Host() (the TLS server name selects what is asked)`);
        return;
      }
      middlewares.unshift({ name: `tlsoption:${option.name}`, spec: option.clientCert });
    }
    routes.push({
      id: `${group}:${ns}/${ref.name}#${i}`,
      routeName: `${ns}-${ref.name}-${i}@kubernetescrd`,
      rule: compiled.rule,
      priority,
      entryPoints,
      service: svc.node,
      middlewares,
    });
  });

  const certificates: CertificateRequirement[] = [];
  if (spec.tls) {
    const tls = spec.tls;
    for (const k of ['certResolver', 'domains', 'store'] as const) {
      if (tls[k] !== undefined && tls[k] !== null) sink.warn('IgnoredField', `tls.${k} is not supported and is ignored`);
    }
    if (tls.secretName) {
      const secret = view.secret(ns, tls.secretName);
      if (secret === undefined) sink.warn('MissingSecret', `tls.secretName: Secret ${ns}/${tls.secretName} not found; the default certificate is served`);
      else if (secret.type !== undefined && secret.type !== 'kubernetes.io/tls') sink.warn('BadSecret', `tls.secretName: Secret ${ns}/${tls.secretName} is of type ${secret.type}, not kubernetes.io/tls`);
      certificates.push({ secretKey: `${ns}/${tls.secretName}`, hosts: [...ruleHosts].sort(), origin: ref });
    }
  }
  const hostTls = option !== undefined && Object.keys(option.tls).length > 0 ? [...ruleHosts].sort().map((host) => ({ host, ...option.tls })) : [];
  return { ref, routes, certificates, hostTls, diagnostics: sink.items, ok: !sink.hasErrors };
}

/** tls.options ({name, namespace}) -> its settings; none named: the `default` TLSOption's, if any. Errors go to the sink. */
function tlsOptionOf(ref: unknown, ns: string, view: ClusterView, sink: DiagnosticSink): (TlsOptionSettings & { readonly name: string }) | undefined {
  let o: TlsOptionObject | undefined;
  if (ref === undefined || ref === null) {
    o = view.tlsOption('*', 'default');
    if (o === undefined) return undefined;
  } else {
    const r = ref as { name?: unknown; namespace?: unknown };
    if (typeof r !== 'object' || typeof r.name !== 'string' || r.name === '' || (r.namespace !== undefined && typeof r.namespace !== 'string')) {
      sink.error('BadTlsOption', 'tls.options must name a TLSOption ({name, namespace})');
      return undefined;
    }
    if (r.name.includes('@')) {
      sink.error('BadTlsOption', `tls.options ${r.name}: only a TLSOption object, by its name, is supported`);
      return undefined;
    }
    const optNs = (r.namespace as string | undefined) || ns;
    o = view.tlsOption(optNs, r.name);
    if (o === undefined) {
      // Traefik would fall back to the default option: that could drop a client-certificate check, so the route is not served.
      sink.error('MissingTlsOption', `tls.options: TLSOption ${optNs}/${r.name} not found`);
      return undefined;
    }
  }
  const r = tlsOptionSettings(o, view);
  if (!r.ok) {
    sink.error(r.reason, `tls.options: ${r.error}`);
    return undefined;
  }
  for (const w of r.value.warnings) sink.warn('IgnoredField', w);
  return { ...r.value, name: `${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}` };
}
