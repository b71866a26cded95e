// One networking.k8s.io/v1 Ingress -> its paths, default backend and TLS
// requirements, with every problem reported on the Ingress. Pure: lookups go
// through the ClusterView. Canary attachment and cross-Ingress decisions
// (duplicate paths, host-wide TLS for ssl-redirect, the default backend) are
// taken later by the compiler, which sees all Ingresses.

import type { V1Ingress, V1IngressBackend } from '@kubernetes/client-node';
import { compileTraefikRule, type CompiledTraefikRule } from '../match/traefik-rule-compiler.ts';
import { compileIngressPath, type IngressPathType } from '../match/ingress-path.ts';
import { parseIngressHost } from '../match/host.ts';
import { DiagnosticSink, type Diagnostic, type ObjectRef } from '../model/diagnostic.ts';
import type { BasicAuthSpec, BasicAuthUser, ClientCertSpec, DigestAuthSpec, NamedMiddleware } from '../model/middleware-spec.ts';
import type { BackendOptions, BackendTls, LeafNode, ServicePortRef } from '../model/service-node.ts';
import type { ClusterView } from './cluster-view.ts';
import { caDigest } from '../../common/ca-digest.ts';
import { parseHtdigest } from './htdigest.ts';
import { parseHtpasswd } from './htpasswd.ts';
import { headersFromConfigMap, type HeaderList } from './header-configmap.ts';
import { parseNginxAnnotations, type NginxBasicAuth, type NginxClientAuth, type NginxConfig, type NginxProxySsl } from './nginx-annotations.ts';
import { ruleString } from './rule-text.ts';
import { backendLabels, leaf, resolveServicePort } from './service-port.ts';
import { compileGoRegexp } from '../match/go-regexp.ts';

/** A TLS certificate the proxy should serve: a `kubernetes.io/tls` Secret for some hosts. */
export interface CertificateRequirement {
  /** `ns/name` of the Secret (the CertificateStore key). */
  readonly secretKey: string;
  readonly hosts: readonly string[];
  /** The first object asking for it (Events about the Secret go there). */
  readonly origin: ObjectRef;
  /** Every object asking for it (set by the compiler's merge). */
  readonly origins?: readonly ObjectRef[];
}

export interface IngressPathEntry {
  /** Canary attachment and duplicate detection key: host, path and pathType. */
  readonly groupKey: string;
  readonly id: string;
  /** Rule host ("" = any). */
  readonly host: string;
  readonly path: string;
  readonly pathType: IngressPathType;
  /** use-regex / rewrite-target: `Host(h) && PathRegexp((?i)^path)` instead of a plain Ingress path. */
  readonly regexRule?: CompiledTraefikRule;
  readonly leaf: LeafNode;
  /** In order, for both entry points. */
  readonly middlewares: readonly NamedMiddleware[];
}

/** A server-alias name for one path: the path's routes under another host. */
export interface AliasPathEntry {
  readonly id: string;
  /** The entry (its id) whose routes the alias gets. */
  readonly aliasOf: string;
  readonly host: string;
  /** For a regex path: the same rule with the alias as its host. */
  readonly regexRule?: CompiledTraefikRule;
}

export interface IngressTranslation {
  readonly ref: ObjectRef;
  /** For "oldest wins" between Ingresses (creationTimestamp, then ns/name). */
  readonly order: string;
  readonly config: NginxConfig;
  readonly isCanary: boolean;
  readonly paths: readonly IngressPathEntry[];
  /** server-alias: the paths again under each alias of their host. */
  readonly aliasPaths: readonly AliasPathEntry[];
  readonly defaultBackend?: { readonly leaf: LeafNode; readonly middlewares: readonly NamedMiddleware[] };
  readonly certificates: readonly CertificateRequirement[];
  /** Hosts this Ingress declares TLS for (ssl-redirect applies to them). */
  readonly tlsHosts: readonly string[];
  /** auth-tls-secret: these hosts' TLS connections are asked for a client certificate, verified against `ca` (PEM). */
  readonly hostTls: readonly { readonly host: string; readonly ca?: string; readonly ciphers?: string }[];
  /** ssl-passthrough: TLS connections for these hosts go, undecrypted, to the backend of the host's "/" path. */
  readonly passthrough: readonly { readonly host: string; readonly ref: ServicePortRef }[];
  readonly diagnostics: readonly Diagnostic[];
  /** An error makes the whole Ingress unusable. */
  readonly ok: boolean;
}

function ingressRef(ing: V1Ingress): ObjectRef {
  const m = ing.metadata ?? {};
  return {
    kind: 'Ingress',
    apiVersion: 'networking.k8s.io/v1',
    namespace: m.namespace ?? 'default',
    name: m.name ?? '',
    ...(m.uid ? { uid: m.uid } : {}),
    ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
  };
}

export function creationOrder(meta: { creationTimestamp?: Date | string; namespace?: string; name?: string } | undefined): string {
  const t = meta?.creationTimestamp;
  const iso = t instanceof Date ? t.toISOString() : typeof t === 'string' ? new Date(t).toISOString() : '9999';
  return `${iso} ${meta?.namespace ?? ''}/${meta?.name ?? ''}`;
}

/** Not a DNS label, so no EndpointSlice port has this name: a backend for a Service or port that does not exist. */
const NO_PORT = '(missing)';

export function translateIngress(ing: V1Ingress, view: ClusterView): IngressTranslation {
  const ref = ingressRef(ing);
  const sink = new DiagnosticSink(ref);
  const parsed = parseNginxAnnotations(ing.metadata?.annotations, sink);
  const basicAuth = parsed.basicAuth ? basicAuthOf(parsed.basicAuth, ingressRef(ing).namespace, view, sink) : undefined;
  const caPem = parsed.clientAuth ? caOf(parsed.clientAuth, ingressRef(ing).namespace, view, sink) : undefined;
  const clientCertSpec: ClientCertSpec | undefined = parsed.clientAuth && caPem !== undefined ? { type: 'clientCert', ...parsed.clientAuth.check, caDigest: caDigest(caPem) } : undefined;
  const fieldsOf = (annotation: string, configMap: string, strictValues: boolean) => {
    const r = headersFromConfigMap(configMap, ingressRef(ing).namespace, view, strictValues);
    if (!r.ok) sink.error(r.reason, `nginx.ingress.kubernetes.io/${annotation}: ${r.error}`);
    return r.ok ? r.headers : undefined;
  };
  const responseFields = parsed.customHeaders !== undefined ? fieldsOf('custom-headers', parsed.customHeaders, true) : undefined;
  const authFields = parsed.externalAuth && parsed.authProxySetHeaders !== undefined ? fieldsOf('auth-proxy-set-headers', parsed.authProxySetHeaders, false) : undefined;
  const config: AnnotationConfig = {
    ...parsed,
    ...(basicAuth ? { basicAuthSpec: basicAuth } : {}),
    ...(clientCertSpec ? { clientCertSpec } : {}),
    ...(responseFields ? { responseFields } : {}),
    ...(parsed.externalAuth && authFields ? { externalAuth: { ...parsed.externalAuth, proxySetHeaders: authFields } } : {}),
  };
  const isCanary = config.canary !== undefined || ing.metadata?.annotations?.['nginx.ingress.kubernetes.io/canary'] === 'true';
  const ns = ref.namespace;
  const spec = ing.spec ?? {};

  const backendTls = config.proxySsl ? backendTlsOf(config.proxySsl, config.protocol, ns, view, sink) : undefined;
  const options: BackendOptions = {
    protocol: config.protocol,
    ...(backendTls ? { tls: backendTls } : {}),
    ...(config.loadBalance === 'ewma' ? { balance: 'ewma' as const } : {}),
    ...(config.hashSubsetSize !== undefined ? { hashSubsetSize: config.hashSubsetSize } : {}),
    ...(config.connectTimeoutMs !== undefined ? { connectTimeoutMs: config.connectTimeoutMs } : {}),
    ...(config.readTimeoutMs !== undefined ? { readTimeoutMs: config.readTimeoutMs } : {}),
    ...(config.sendTimeoutMs !== undefined ? { sendTimeoutMs: config.sendTimeoutMs } : {}),
    ...(config.maxBodyBytes !== undefined ? { maxBodyBytes: config.maxBodyBytes } : {}),
  };
  // default-backend (and custom-http-errors): a Service of the namespace, its first TCP port.
  let errorService: LeafNode | undefined;
  if (config.defaultBackend !== undefined && !isCanary) {
    const first = view.service(ns, config.defaultBackend)?.spec?.ports?.find((p) => (p.protocol ?? 'TCP') === 'TCP')?.port;
    const r = resolveServicePort(view, ns, config.defaultBackend, first);
    if (!r.ok) sink.error(r.reason, `nginx.ingress.kubernetes.io/default-backend: ${r.error}`);
    else errorService = leaf(r.ref, { protocol: 'http' }, backendLabels(r.ref, first, 'kubernetes'));
  }
  const errorMiddlewares = (target: LeafNode): NamedMiddleware[] => {
    if (errorService === undefined) return [];
    const out: NamedMiddleware[] = [{ name: `ingress:${ns}/${ref.name}:default-backend`, spec: { type: 'fallbackBackend', service: errorService } }];
    if (config.customHttpErrors !== undefined) {
      out.push({
        name: `ingress:${ns}/${ref.name}:custom-http-errors`,
        spec: {
          type: 'errorPages',
          statuses: config.customHttpErrors.map((c) => [c, c] as const),
          service: errorService,
          style: 'nginx',
          origin: { namespace: ns, ingress: ref.name, service: target.ref.service, port: String(target.ref.port) },
        },
      });
    }
    return out;
  };
  const resolve = (backend: V1IngressBackend | undefined, where: string): LeafNode | undefined => {
    if (backend === undefined) {
      sink.error('MissingBackend', `${where}: no backend`);
      return undefined;
    }
    if (backend.resource) {
      sink.error('UnsupportedBackend', `${where}: resource backends (${backend.resource.kind ?? '?'}) are not supported; use a Service`);
      return undefined;
    }
    const svc = backend.service;
    if (!svc?.name) {
      sink.error('MissingBackend', `${where}: backend.service.name is required`);
      return undefined;
    }
    const declared = svc.port?.number ?? svc.port?.name;
    const r = resolveServicePort(view, ns, svc.name, declared);
    if (!r.ok && (r.reason === 'MissingService' || r.reason === 'MissingServicePort')) {
      // As ingress-nginx: the path stays routed and answers 503 until the
      // Service (or port) exists; the rest of the Ingress is served. A
      // port name no EndpointSlice can carry keeps the backend empty.
      sink.warn(r.reason, `${where}: ${r.error}; requests to this path answer 503 until it exists`);
      const ref: ServicePortRef = { namespace: ns, service: svc.name, portName: NO_PORT, port: typeof declared === 'number' ? declared : 0 };
      return leaf(ref, options, backendLabels(ref, declared, 'kubernetes'));
    }
    if (!r.ok) {
      sink.error(r.reason, `${where}: ${r.error}`);
      return undefined;
    }
    if (config.serviceUpstream) {
      // As ingress-nginx: a Service without a cluster IP (headless) keeps its endpoints, with a warning.
      const clusterIp = view.service(ns, svc.name)?.spec?.clusterIP;
      if (clusterIp && clusterIp !== 'None') return leaf(r.ref, { ...options, serviceUpstream: { ip: clusterIp, port: r.ref.port } }, backendLabels(r.ref, declared, 'kubernetes'));
      sink.warn('NoClusterIP', `${where}: service-upstream: Service ${ns}/${svc.name} has no cluster IP; its endpoints are used`);
    }
    return leaf(r.ref, options, backendLabels(r.ref, declared, 'kubernetes'));
  };

  const paths: IngressPathEntry[] = [];
  (spec.rules ?? []).forEach((rule, ri) => {
    const hostText = rule.host ?? '';
    const host = parseIngressHost(hostText);
    if (!host.ok) {
      sink.error('BadHost', `rules[${ri}]: ${host.error}`);
      return;
    }
    const canonicalHost = host.host.kind === 'exact' ? host.host.host : host.host.kind === 'wildcard' ? `*.${host.host.suffix}` : '';
    (rule.http?.paths ?? []).forEach((p, pi) => {
      const where = `rules[${ri}].http.paths[${pi}]`;
      const pathType = (p.pathType ?? 'ImplementationSpecific') as IngressPathType;
      const compiled = compileIngressPath(p.path, pathType);
      if (!compiled.ok) {
        sink.error('BadPath', `${where}: ${compiled.error}`);
        return;
      }
      const target = resolve(p.backend, where);
      if (target === undefined) return;
      const path = p.path || '/';
      let regexRule: CompiledTraefikRule | undefined;
      if (config.regexPaths && pathType !== 'Exact') {
        regexRule = regexPathRule(canonicalHost, path, (m) => sink.error('BadPath', `${where}: ${m}`));
        if (regexRule === undefined) return;
      }
      paths.push({
        groupKey: `${canonicalHost}\u0000${path}\u0000${pathType}`,
        id: `ingress:${ns}/${ref.name}#${ri}/${pi}`,
        host: canonicalHost,
        path,
        pathType,
        ...(regexRule ? { regexRule } : {}),
        leaf: target,
        middlewares: isCanary ? [] : [...annotationMiddlewares(config, ref, regexRule ? '/' : path, sink, path), ...errorMiddlewares(target)],
      });
    });
  });

  const aliasPaths: AliasPathEntry[] = [];
  for (const alias of isCanary ? [] : (config.serverAliases ?? [])) {
    for (const entry of paths) {
      if (entry.host === '' || entry.host === alias) continue;
      let regexRule: CompiledTraefikRule | undefined;
      if (entry.regexRule) {
        regexRule = regexPathRule(alias, entry.path, (m) => sink.error('BadPath', `server-alias ${alias}: ${m}`));
        if (regexRule === undefined) continue;
      }
      aliasPaths.push({ id: `${entry.id}@${alias}`, aliasOf: entry.id, host: alias, ...(regexRule ? { regexRule } : {}) });
    }
  }

  let defaultBackend: IngressTranslation['defaultBackend'];
  if (spec.defaultBackend) {
    const target = resolve(spec.defaultBackend, 'defaultBackend');
    if (target) {
      if (isCanary) sink.warn('CanaryDefaultBackend', 'defaultBackend of a canary Ingress is not used (canaries attach to paths)');
      else defaultBackend = { leaf: target, middlewares: [...annotationMiddlewares(config, ref, '/', sink), ...errorMiddlewares(target)] };
    }
  }

  const certificates: CertificateRequirement[] = [];
  const tlsHosts: string[] = [];
  const ruleHosts = [...new Set((spec.rules ?? []).map((r) => (r.host ?? '').toLowerCase()).filter((h) => h !== ''))];
  (spec.tls ?? []).forEach((tls, ti) => {
    if (isCanary) return;
    // Without hosts, a TLS entry covers the Ingress's rule hosts.
    const listed = (tls.hosts ?? []).length > 0 ? tls.hosts!.map((h) => h.toLowerCase()) : ruleHosts;
    // A server-alias name is served with its host's certificate (the same nginx server block).
    const hosts = config.serverAliases && listed.some((h) => ruleHosts.includes(h)) ? [...new Set([...listed, ...config.serverAliases])] : listed;
    tlsHosts.push(...hosts);
    if (!tls.secretName) {
      sink.info('DefaultCertificate', `tls[${ti}] names no Secret: the default certificate serves ${hosts.join(', ') || 'its hosts'}`);
      return;
    }
    const secret = view.secret(ns, tls.secretName);
    if (secret === undefined) {
      sink.warn('MissingSecret', `tls[${ti}]: Secret ${ns}/${tls.secretName} not found; the default certificate is served for ${hosts.join(', ') || 'its hosts'}`);
    } else if (secret.type !== undefined && secret.type !== 'kubernetes.io/tls') {
      sink.warn('BadSecret', `tls[${ti}]: Secret ${ns}/${tls.secretName} is of type ${secret.type}, not kubernetes.io/tls`);
    }
    certificates.push({ secretKey: `${ns}/${tls.secretName}`, hosts, origin: ref });
  });
  if (isCanary && (spec.tls ?? []).length > 0) sink.warn('IgnoredField', 'spec.tls of a canary Ingress is ignored: the main Ingress\'s TLS applies');
  if ((spec.rules ?? []).length === 0 && !spec.defaultBackend) sink.warn('NoRules', 'the Ingress has neither rules nor a defaultBackend');

  return {
    ref,
    order: creationOrder(ing.metadata),
    config,
    isCanary,
    paths,
    aliasPaths,
    ...(defaultBackend ? { defaultBackend } : {}),
    certificates,
    tlsHosts,
    passthrough: config.sslPassthrough && !isCanary ? passthroughOf(paths, sink) : [],
    hostTls: isCanary ? [] : hostTlsOf([...paths.map((p) => p.host), ...aliasPaths.map((a) => a.host)], caPem !== undefined && parsed.clientAuth?.check.verify !== 'off' ? caPem : undefined, config.sslCiphers, sink),
    diagnostics: sink.items,
    ok: !sink.hasErrors,
  };
}

/**
 * The Secret an annotation names (`name` or `ns/name`), which must be in the
 * Ingress's namespace as ingress-nginx requires by default; `read(key)`
 * gives a data entry as text. Any problem is an error.
 */
function secretOf(annotation: string, ref: string, ns: string, view: ClusterView, sink: DiagnosticSink): { key: string; read: (field: string) => string | undefined } | undefined {
  const slash = ref.indexOf('/');
  const secretNs = slash < 0 ? ns : ref.slice(0, slash);
  const name = slash < 0 ? ref : ref.slice(slash + 1);
  if (secretNs !== ns) {
    sink.error('BadAnnotation', `${annotation}: ${JSON.stringify(ref)} is in another namespace; as ingress-nginx by default, a Secret of the Ingress's own namespace is required`);
    return undefined;
  }
  const secret = view.secret(ns, name);
  if (secret === undefined) {
    sink.error('MissingSecret', `${annotation}: Secret ${ns}/${name} not found`);
    return undefined;
  }
  const read = (field: string): string | undefined => {
    const b64 = secret.data?.[field];
    return b64 !== undefined ? Buffer.from(b64, 'base64').toString('utf8') : secret.stringData?.[field];
  };
  return { key: `${ns}/${name}`, read };
}

const isPemCertificate = (t: string | undefined): t is string => t !== undefined && t.includes('-----BEGIN CERTIFICATE-----');

/** auth-tls-secret -> the CA bundle (`ca.crt`) of a Secret of the Ingress's namespace; any problem is an error. */
function caOf(c: NginxClientAuth, ns: string, view: ClusterView, sink: DiagnosticSink): string | undefined {
  const A = 'nginx.ingress.kubernetes.io/auth-tls-secret';
  const s = secretOf(A, c.secretName, ns, view, sink);
  if (s === undefined) return undefined;
  const pem = s.read('ca.crt');
  if (!isPemCertificate(pem)) {
    sink.error('BadSecret', `${A}: Secret ${s.key} has no ca.crt with a PEM certificate`);
    return undefined;
  }
  return pem;
}

/**
 * proxy-ssl-* -> how TLS to the pods is made, as ingress-nginx's template
 * writes proxy_ssl_*: the Secret's ca.crt verifies the pod (proxy-ssl-verify),
 * its tls.crt/tls.key are shown to it; the name checked (and sent as SNI with
 * proxy-ssl-server-name) is proxy-ssl-name, else nginx's $proxy_host, which
 * ingress-nginx sets to "upstream_balancer".
 */
function backendTlsOf(p: NginxProxySsl, protocol: BackendOptions['protocol'], ns: string, view: ClusterView, sink: DiagnosticSink): BackendTls | undefined | null {
  const A = 'nginx.ingress.kubernetes.io/proxy-ssl-secret';
  if (protocol !== 'https' && protocol !== 'h2') {
    sink.warn('IgnoredAnnotation', `nginx.ingress.kubernetes.io/proxy-ssl-*: apply to HTTPS and GRPCS backends only (backend-protocol), ignored`);
    return undefined;
  }
  let ca: string | undefined;
  let pair: { cert: string; key: string } | undefined;
  if (p.secretName !== undefined) {
    const s = secretOf(A, p.secretName, ns, view, sink);
    if (s === undefined) return null;
    const caText = s.read('ca.crt');
    const cert = s.read('tls.crt');
    const key = s.read('tls.key');
    if (caText !== undefined) {
      if (!isPemCertificate(caText)) {
        sink.error('BadSecret', `${A}: Secret ${s.key}: ca.crt is not a PEM certificate`);
        return null;
      }
      ca = caText;
    }
    if (p.verify && ca === undefined) {
      sink.error('BadSecret', `${A}: Secret ${s.key} has no ca.crt, which proxy-ssl-verify: on needs to verify the backend`);
      return null;
    }
    if ((cert === undefined) !== (key === undefined) || (cert !== undefined && (!isPemCertificate(cert) || !key!.includes('PRIVATE KEY-----')))) {
      sink.error('BadSecret', `${A}: Secret ${s.key}: tls.crt and tls.key must both be PEM (the client certificate shown to the backend)`);
      return null;
    }
    if (cert !== undefined) pair = { cert, key: key! };
  }
  if (p.verify && p.name === undefined) {
    sink.warn('ProxySslName', 'nginx.ingress.kubernetes.io/proxy-ssl-verify: on without proxy-ssl-name checks the name "upstream_balancer", as ingress-nginx does; set proxy-ssl-name to the name on the backend\'s certificate');
  }
  const name = p.name ?? 'upstream_balancer';
  return {
    ...(p.serverName ? { servername: name } : {}),
    ...(p.verify ? { verify: true, checkName: name, verifyDepth: p.depth } : {}),
    ...(ca !== undefined ? { ca } : {}),
    ...(pair !== undefined ? pair : {}),
    ...(p.minVersion !== undefined ? { minVersion: p.minVersion } : {}),
    ...(p.maxVersion !== undefined ? { maxVersion: p.maxVersion } : {}),
    ...(p.ciphers !== undefined ? { ciphers: p.ciphers } : {}),
  };
}

/** The hosts whose TLS connections ask for a client certificate (a wildcard host asks on every name one label under it). */
/** The hosts' own TLS settings (rule hosts and their server-alias names): auth-tls's CA, ssl-ciphers. Both are per server name. */
function hostTlsOf(hosts: readonly string[], ca: string | undefined, ciphers: string | undefined, sink: DiagnosticSink): { host: string; ca?: string; ciphers?: string }[] {
  if (ca === undefined && ciphers === undefined) return [];
  const out: { host: string; ca?: string; ciphers?: string }[] = [];
  for (const host of [...new Set(hosts)]) {
    if (host === '') {
      if (ca !== undefined) sink.error('BadAnnotation', 'nginx.ingress.kubernetes.io/auth-tls-secret: a rule without host cannot ask for client certificates (the TLS server name selects the CA)');
      else sink.warn('IgnoredAnnotation', 'nginx.ingress.kubernetes.io/ssl-ciphers does not apply to a rule without host (the TLS server name selects the settings)');
      continue;
    }
    out.push({ host, ...(ca !== undefined ? { ca } : {}), ...(ciphers !== undefined ? { ciphers } : {}) });
  }
  return out;
}

/**
 * ssl-passthrough as ingress-nginx reads it: each host's "/" path names the
 * backend that gets the host's TLS connections; a host without one, or a
 * wildcard host (SNI names one host), is an error.
 */
function passthroughOf(paths: readonly IngressPathEntry[], sink: DiagnosticSink): { host: string; ref: ServicePortRef }[] {
  const out: { host: string; ref: ServicePortRef }[] = [];
  const A = 'nginx.ingress.kubernetes.io/ssl-passthrough';
  for (const host of [...new Set(paths.map((p) => p.host))]) {
    if (host === '' || host.startsWith('*.')) {
      sink.error('BadAnnotation', `${A}: ${host === '' ? 'a rule without host' : `the wildcard host ${host}`} cannot be passed through (a TLS connection names one host)`);
      continue;
    }
    const root = paths.find((p) => p.host === host && p.path === '/');
    if (root === undefined) {
      sink.error('BadAnnotation', `${A}: host ${host} has no "/" path, whose backend would get its TLS connections`);
      continue;
    }
    if (paths.some((p) => p.host === host && p.path !== '/')) sink.warn('IgnoredPath', `${A}: host ${host}'s paths other than "/" do not apply to its TLS connections (passed through whole), as in ingress-nginx`);
    out.push({ host, ref: root.leaf.ref });
  }
  return out;
}

/**
 * ingress-nginx reads a path in regex mode as `location ~* "^<path>"`: a
 * case-insensitive regex anchored at the start only.
 */
function regexPathRule(host: string, path: string, fail: (message: string) => void): CompiledTraefikRule | undefined {
  const re = `(?i)^${path}`;
  const check = compileGoRegexp(re);
  if (!check.ok) {
    fail(`path ${JSON.stringify(path)} is not a valid regular expression: ${check.error}`);
    return undefined;
  }
  let hostPart = '';
  if (host.startsWith('*.')) hostPart = `HostRegexp(${ruleString(`^[^.]+\\.${host.slice(2).replaceAll('.', '\\.')}$`)}) && `;
  else if (host !== '') hostPart = `Host(${ruleString(host)}) && `;
  const r = compileTraefikRule(`${hostPart}PathRegexp(${ruleString(re)})`);
  if (!r.ok) {
    fail(`path ${JSON.stringify(path)}: ${r.error.message}`);
    return undefined;
  }
  return r.rule;
}

/** auth-type: basic -> the users of its Secret; any problem is an error (the Ingress is not served without its auth). */
function basicAuthOf(b: NginxBasicAuth, ns: string, view: ClusterView, sink: DiagnosticSink): BasicAuthSpec | DigestAuthSpec | undefined {
  const A = 'nginx.ingress.kubernetes.io/auth-secret';
  const slash = b.secretName.indexOf('/');
  const secretNs = slash < 0 ? ns : b.secretName.slice(0, slash);
  const name = slash < 0 ? b.secretName : b.secretName.slice(slash + 1);
  if (secretNs !== ns) {
    sink.error('BadAnnotation', `${A}: ${JSON.stringify(b.secretName)} is in another namespace; as ingress-nginx by default, a Secret of the Ingress's own namespace is required`);
    return undefined;
  }
  const secret = view.secret(ns, name);
  if (secret === undefined) {
    sink.error('MissingSecret', `${A}: Secret ${ns}/${name} not found`);
    return undefined;
  }
  const text = (v: string) => Buffer.from(v, 'base64').toString('utf8');
  let users: BasicAuthUser[];
  if (b.secretType === 'auth-file') {
    const file = secret.data?.auth !== undefined ? text(secret.data.auth) : secret.stringData?.auth;
    if (file === undefined) {
      sink.error('BadSecret', `${A}: Secret ${ns}/${name} has no "auth" key (htpasswd lines, auth-secret-type auth-file)`);
      return undefined;
    }
    if (b.type === 'digest') {
      const d = parseHtdigest(file);
      if (!d.ok) {
        sink.error('BadSecret', `${A}: Secret ${ns}/${name}: ${d.error}`);
        return undefined;
      }
      const inRealm = d.users.filter((u) => u.realm === b.realm);
      if (inRealm.length === 0) {
        sink.error('BadSecret', `${A}: Secret ${ns}/${name} holds no user of the realm ${JSON.stringify(b.realm)} (nginx.ingress.kubernetes.io/auth-realm)`);
        return undefined;
      }
      return { type: 'digestAuth', users: inRealm, realm: b.realm, removeHeader: false };
    }
    const r = parseHtpasswd(file);
    if (!r.ok) {
      sink.error('BadSecret', `${A}: Secret ${ns}/${name}: ${r.error}`);
      return undefined;
    }
    users = r.users;
  } else {
    users = Object.entries(secret.data ?? {}).map(([user, hash]) => ({ name: user, hash: text(hash).trim() }));
  }
  if (users.length === 0) {
    sink.error('BadSecret', `${A}: Secret ${ns}/${name} holds no users`);
    return undefined;
  }
  return { type: 'basicAuth', users, realm: b.realm, removeHeader: false };
}

/** The middlewares ingress-nginx annotations ask for, in nginx's phase order (access, then rewrite before proxying). */
/** The parsed annotations with what they name resolved against the cluster. */
type AnnotationConfig = NginxConfig & { basicAuthSpec?: BasicAuthSpec | DigestAuthSpec; clientCertSpec?: ClientCertSpec; responseFields?: HeaderList };

function annotationMiddlewares(config: AnnotationConfig, ref: ObjectRef, cookiePath: string, sink: DiagnosticSink, rewritePath?: string): NamedMiddleware[] {
  const out: NamedMiddleware[] = [];
  const name = (what: string): string => `ingress:${ref.namespace}/${ref.name}:${what}`;
  // custom-headers first: its fields go on every answer, those the middlewares below make included (more_set_headers is a header filter).
  if (config.responseFields) out.push({ name: name('custom-headers'), spec: { type: 'responseFields', fields: config.responseFields } });
  // nginx checks the client certificate before any phase (a failure is answered at once).
  if (config.clientCertSpec) out.push({ name: name('auth-tls'), spec: config.clientCertSpec });
  // nginx's rewrite phase comes first: the CORS preflight and the redirects answer before any access check.
  if (config.cors) out.push({ name: name('enable-cors'), spec: config.cors });
  if (config.appRoot) out.push({ name: name('app-root'), spec: config.appRoot });
  if (config.redirect) out.push({ name: name('redirect'), spec: config.redirect });
  // The end of the rewrite phase (ingress-nginx's Lua, after its redirects): the global rate limit.
  if (config.globalRateLimit) out.push({ name: name('global-rate-limit'), spec: config.globalRateLimit });
  // nginx's preaccess phase (limit_req, limit_conn), then access: deny lines before allow lines.
  const exempt = config.limitExempt ? { exempt: config.limitExempt } : {};
  if (config.limitConnections !== undefined) {
    out.push({ name: name('limit-connections'), spec: { type: 'inFlightReq', amount: config.limitConnections, source: { depth: 0, excluded: [] }, rejectStatus: 503, ...exempt } });
  }
  if (config.limitRpm) {
    out.push({
      name: name('limit-rpm'),
      spec: { type: 'rateLimit', ratePerSecond: config.limitRpm.rpm / 60, burst: config.limitRpm.burst, source: { depth: 0, excluded: [] }, rejectStatus: 503, ...exempt },
    });
  }
  // satisfy: any, with both IP lines and an auth: one middleware where either may let the request through (nginx's access phase).
  const anyOf = config.satisfyAny === true && (config.denyRanges !== undefined || config.allowRanges !== undefined) && (config.basicAuthSpec !== undefined || config.externalAuth !== undefined);
  if (anyOf) {
    const auths = [...(config.basicAuthSpec ? [config.basicAuthSpec] : []), ...(config.externalAuth ? [config.externalAuth] : [])];
    out.push({ name: name('satisfy-any'), spec: { type: 'satisfyAny', deny: config.denyRanges ?? [], ...(config.allowRanges ? { allow: config.allowRanges } : {}), auths } });
  }
  if (config.denyRanges && !anyOf) {
    out.push({ name: name('denylist-source-range'), spec: { type: 'ipAllowList', ranges: config.denyRanges, source: { depth: 0, excluded: [] }, rejectStatus: 403, deny: true } });
  }
  if (config.allowRanges && !anyOf) {
    out.push({ name: name('whitelist-source-range'), spec: { type: 'ipAllowList', ranges: config.allowRanges, source: { depth: 0, excluded: [] }, rejectStatus: 403 } });
  }
  if (config.limitRps) {
    out.push({
      name: name('limit-rps'),
      spec: { type: 'rateLimit', ratePerSecond: config.limitRps.rps, burst: config.limitRps.burst, source: { depth: 0, excluded: [] }, rejectStatus: 503, ...exempt },
    });
  }
  // nginx's access phase: the allow-list, then auth_basic, then auth_request (all must pass).
  if (config.basicAuthSpec && !anyOf) out.push({ name: name(config.basicAuthSpec.type === 'digestAuth' ? 'auth-type-digest' : 'auth-type-basic'), spec: config.basicAuthSpec });
  // Before anything rewrites the target: the auth service sees the request URI as received.
  if (config.externalAuth && !anyOf) out.push({ name: name('auth-url'), spec: config.externalAuth });
  // After the access checks (nginx mirrors in its precontent phase), before any rewrite: $request_uri as received.
  if (config.mirror !== undefined) out.push({ name: name('mirror-target'), spec: { type: 'mirrorUrl', ...config.mirror } });
  if (config.upstreamHost !== undefined || config.forwardedPrefix !== undefined) {
    out.push({
      name: name('upstream-fields'),
      spec: { type: 'upstreamFields', ...(config.upstreamHost !== undefined ? { host: config.upstreamHost } : {}), ...(config.forwardedPrefix !== undefined ? { forwardedPrefix: config.forwardedPrefix } : {}) },
    });
  }
  if (config.affinity) {
    out.push({ name: name('affinity'), spec: { type: 'stickyCookie', cookie: { ...config.affinity, path: config.affinity.path ?? cookiePath } } });
  }
  if (config.nextUpstream !== undefined) {
    const n = config.nextUpstream;
    out.push({
      name: name('proxy-next-upstream'),
      spec: { type: 'retry', attempts: n.tries, initialIntervalMs: 0, when: { error: n.error, timeout: n.timeout, statuses: n.statuses, nonIdempotent: n.nonIdempotent }, ...(n.timeoutMs > 0 ? { budgetMs: n.timeoutMs } : {}) },
    });
  }
  // Before any rewrite: $request_uri and friends as received. A sticky cookie still wins (ingress-nginx's sticky balancer).
  if (config.upstreamHashBy !== undefined) out.push({ name: name('upstream-hash-by'), spec: { type: 'balanceKey', parts: config.upstreamHashBy } });
  // Last: it sees the upstream's answers only.
  if (config.proxyCookie !== undefined) out.push({ name: name('proxy-cookie'), spec: { type: 'proxyCookie', ...config.proxyCookie } });
  if (config.proxyRedirect !== undefined) out.push({ name: name('proxy-redirect'), spec: { type: 'proxyRedirect', ...config.proxyRedirect } });
  if (config.limitRate !== undefined) out.push({ name: name('limit-rate'), spec: { type: 'limitRate', ...config.limitRate } });
  if (config.rewriteTarget !== undefined && rewritePath !== undefined) {
    // nginx: `rewrite "(?i)<path>" <target> break;` - unanchored, the whole
    // URI is replaced by the target with $1.. substituted.
    const r = compileGoRegexp(`(?i)${rewritePath}`);
    if (!r.ok) sink.error('BadPath', `path ${JSON.stringify(rewritePath)} is not a valid regular expression for rewrite-target: ${r.error}`);
    else out.push({ name: name('rewrite-target'), spec: { type: 'rewriteTarget', regex: r.regexp, target: config.rewriteTarget } });
  }
  return out;
}
