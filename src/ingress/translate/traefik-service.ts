// IngressRoute / TraefikService service references -> ServiceNode trees.
// - kind Service (default): a Service port by number or name; `scheme:
//   https` talks TLS to the pods, `scheme: h2c` HTTP/2 in clear (gRPC);
//   `serversTransport` names a ServersTransport of the service's namespace
//   (servers-transport.ts).
// - kind TraefikService: `weighted` (services with integer weights, default
//   1, nested TraefikServices allowed, optional sticky cookie) or
//   `mirroring` (a main service plus mirrors receiving `percent` % copies).
// A reference may name another namespace only when cross-namespace
// references are allowed (Traefik's providers.kubernetesCRD
// allowCrossNamespace, default false). Cycles and depth are bounded.

import type { BackendOptions, ServiceNode, StickyCookie } from '../model/service-node.ts';
import type { TraefikServiceObject, TraefikServiceRef } from '../model/traefik-crd.ts';
import type { ClusterView } from './cluster-view.ts';
import { transportSettings } from './servers-transport.ts';
import { backendLabels, leaf, resolveServicePort } from './service-port.ts';

const MAX_DEPTH = 16;

export interface ServiceResolveOptions {
  readonly allowCrossNamespace: boolean;
}

export type NodeResult = { readonly ok: true; readonly node: ServiceNode; readonly warnings: readonly string[] } | { readonly ok: false; readonly reason: string; readonly error: string };

class Failure extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

export function resolveServiceRefs(
  refs: readonly TraefikServiceRef[] | undefined,
  namespace: string,
  view: ClusterView,
  opts: ServiceResolveOptions,
  name: string,
): NodeResult {
  const warnings: string[] = [];
  try {
    if (!refs || refs.length === 0) throw new Failure('MissingBackend', 'no services');
    if (refs.length === 1 && (refs[0]!.weight === undefined || refs[0]!.weight === null)) {
      return { ok: true, node: resolveRef(refs[0]!, namespace, view, opts, [], warnings), warnings };
    }
    // Several services on a route: Traefik balances them by weight.
    return { ok: true, node: weighted(name, refs, namespace, view, opts, [], warnings, undefined), warnings };
  } catch (e) {
    if (e instanceof Failure) return { ok: false, reason: e.reason, error: e.message };
    throw e;
  }
}

/** A TraefikService on its own (for diagnostics on the TraefikService object). */
export function resolveTraefikService(ts: TraefikServiceObject, view: ClusterView, opts: ServiceResolveOptions): NodeResult {
  const warnings: string[] = [];
  const ns = ts.metadata?.namespace ?? 'default';
  try {
    return { ok: true, node: traefikServiceNode(ts, ns, view, opts, [`${ns}/${ts.metadata?.name}`], warnings), warnings };
  } catch (e) {
    if (e instanceof Failure) return { ok: false, reason: e.reason, error: e.message };
    throw e;
  }
}

function refNamespace(ref: TraefikServiceRef, namespace: string, opts: ServiceResolveOptions): string {
  const ns = ref.namespace || namespace;
  if (ns !== namespace && !opts.allowCrossNamespace) {
    throw new Failure('CrossNamespaceRef', `service ${ns}/${ref.name}: references to another namespace are disabled (allowCrossNamespace)`);
  }
  return ns;
}

/** The reference's serversTransport (a ServersTransport of the service's namespace) as backend options. */
function transportOf(ref: TraefikServiceRef, ns: string, scheme: string, view: ClusterView, warnings: string[]): Partial<BackendOptions> {
  const name = ref.serversTransport;
  if (name === undefined || name === null || name === '') return {};
  if (typeof name !== 'string') throw new Failure('BadTransport', `service ${ns}/${ref.name}: serversTransport must be a name`);
  if (name.includes('@')) throw new Failure('UnsupportedTransport', `service ${ns}/${ref.name}: serversTransport ${name}: only a ServersTransport of the same namespace, by its name, is supported`);
  const st = view.serversTransport(ns, name);
  if (st === undefined) throw new Failure('MissingTransport', `service ${ns}/${ref.name}: ServersTransport ${ns}/${name} not found`);
  const r = transportSettings(st, view);
  if (!r.ok) throw new Failure(r.reason, r.error);
  warnings.push(...r.value.warnings);
  return {
    ...(scheme === 'https' ? { tls: r.value.tls } : {}),
    ...(r.value.connectTimeoutMs !== undefined ? { connectTimeoutMs: r.value.connectTimeoutMs } : {}),
    ...(r.value.readTimeoutMs !== undefined ? { readTimeoutMs: r.value.readTimeoutMs } : {}),
  };
}

function resolveRef(ref: TraefikServiceRef, namespace: string, view: ClusterView, opts: ServiceResolveOptions, stack: string[], warnings: string[]): ServiceNode {
  if (typeof ref.name !== 'string' || ref.name === '') throw new Failure('MissingBackend', 'a service reference has no name');
  if (ref.name.includes('@')) throw new Failure('UnsupportedBackend', `service ${ref.name}: provider-qualified names are not supported`);
  const kind = ref.kind ?? 'Service';
  const ns = refNamespace(ref, namespace, opts);
  if (kind === 'Service') {
    const port = ref.port as number | string | undefined;
    const r = resolveServicePort(view, ns, ref.name, port);
    if (!r.ok) throw new Failure(r.reason, r.error);
    const scheme = (ref.scheme ?? 'http').toLowerCase();
    if (scheme !== 'http' && scheme !== 'https' && scheme !== 'h2c') throw new Failure('UnsupportedBackend', `service ${ns}/${ref.name}: scheme ${JSON.stringify(ref.scheme)} is not supported (http, https or h2c)`);
    if (ref.passHostHeader === false) warnings.push(`service ${ns}/${ref.name}: passHostHeader: false is not supported; the client's Host is passed`);
    for (const k of ['strategy', 'responseForwarding', 'sticky', 'nativeLB', 'healthCheck']) {
      if (ref[k] !== undefined && ref[k] !== null) warnings.push(`service ${ns}/${ref.name}: ${k} is not supported and is ignored`);
    }
    return leaf(r.ref, { protocol: scheme, ...transportOf(ref, ns, scheme, view, warnings) }, backendLabels(r.ref, port, 'kubernetescrd'));
  }
  if (kind === 'TraefikService') {
    const key = `${ns}/${ref.name}`;
    if (stack.includes(key)) throw new Failure('ServiceCycle', `TraefikService cycle: ${[...stack, key].join(' -> ')}`);
    if (stack.length >= MAX_DEPTH) throw new Failure('ServiceCycle', `TraefikServices nested deeper than ${MAX_DEPTH}`);
    const ts = view.traefikService(ns, ref.name);
    if (ts === undefined) throw new Failure('MissingTraefikService', `TraefikService ${key} not found`);
    return traefikServiceNode(ts, ns, view, opts, [...stack, key], warnings);
  }
  throw new Failure('UnsupportedBackend', `service ${ref.name}: kind ${JSON.stringify(kind)} is not Service or TraefikService`);
}

function traefikServiceNode(ts: TraefikServiceObject, ns: string, view: ClusterView, opts: ServiceResolveOptions, stack: string[], warnings: string[]): ServiceNode {
  const spec = ts.spec ?? {};
  const name = `${ns}-${ts.metadata?.name}@kubernetescrd`;
  if (spec.weighted && spec.mirroring) throw new Failure('BadTraefikService', `TraefikService ${ns}/${ts.metadata?.name} declares both weighted and mirroring`);
  if (spec.weighted) {
    const c = spec.weighted.sticky?.cookie;
    let sticky: StickyCookie | undefined;
    if (spec.weighted.sticky) {
      const sameSite = c?.sameSite ? normalizeSameSite(c.sameSite) : undefined;
      sticky = {
        name: c?.name || `_${ns}-${ts.metadata?.name}`.replace(/[^A-Za-z0-9_-]/g, '_'),
        path: c?.path || '/',
        secure: c?.secure === true,
        httpOnly: c?.httpOnly === true,
        ...(sameSite ? { sameSite } : {}),
        ...(typeof c?.maxAge === 'number' && c.maxAge > 0 ? { maxAgeSeconds: c.maxAge } : {}),
      };
    }
    return weighted(name, spec.weighted.services ?? [], ns, view, opts, stack, warnings, sticky);
  }
  if (spec.mirroring) {
    const m = spec.mirroring;
    const main = resolveRef(m, ns, view, opts, stack, warnings);
    const mirrors = (m.mirrors ?? []).map((mr) => {
      const percent = mr.percent ?? 0;
      if (typeof percent !== 'number' || !Number.isInteger(percent) || percent < 0 || percent > 100) {
        throw new Failure('BadTraefikService', `mirror ${mr.name}: percent must be an integer 0..100`);
      }
      return { node: resolveRef(mr, ns, view, opts, stack, warnings), percent };
    });
    if (m.mirrorBody !== undefined && typeof m.mirrorBody !== 'boolean') throw new Failure('BadTraefikService', `TraefikService ${ns}/${ts.metadata?.name}: mirroring.mirrorBody must be a boolean`);
    const max = m.maxBodySize;
    if (max !== undefined && (typeof max !== 'number' || !Number.isSafeInteger(max) || max < -1)) throw new Failure('BadTraefikService', `TraefikService ${ns}/${ts.metadata?.name}: mirroring.maxBodySize must be an integer, -1 for no limit`);
    return { kind: 'mirror', name, main, mirrors, body: m.mirrorBody !== false, ...(max !== undefined && max >= 0 ? { maxBodySize: max } : {}) };
  }
  throw new Failure('BadTraefikService', `TraefikService ${ns}/${ts.metadata?.name} declares neither weighted nor mirroring`);
}

function weighted(
  name: string,
  refs: readonly TraefikServiceRef[],
  ns: string,
  view: ClusterView,
  opts: ServiceResolveOptions,
  stack: string[],
  warnings: string[],
  sticky: StickyCookie | undefined,
): ServiceNode {
  if (refs.length === 0) throw new Failure('MissingBackend', `${name}: weighted.services is empty`);
  const children = refs.map((r) => {
    const weight = r.weight ?? 1;
    if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0) throw new Failure('BadTraefikService', `service ${r.name}: weight must be a non-negative integer`);
    return { node: resolveRef(r, ns, view, opts, stack, warnings), weight };
  });
  return { kind: 'weighted', name, children, ...(sticky ? { sticky } : {}) };
}

function normalizeSameSite(s: string): StickyCookie['sameSite'] | undefined {
  const l = s.toLowerCase();
  return l === 'none' ? 'None' : l === 'lax' ? 'Lax' : l === 'strict' ? 'Strict' : undefined;
}
