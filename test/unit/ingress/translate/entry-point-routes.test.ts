// Traefik TCP and UDP routes on entry points of their own, through the
// compiler: an entry point is a named port of the entrypoint Service (of the
// route's protocol); what cannot be served there is an error naming the
// field, and the oldest object takes an entry point two of them name.
import type { V1Service } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { IngressCompiler } from '../../../../src/ingress/compile/ingress-compiler.ts';
import type { IngressRouteTcpObject } from '../../../../src/ingress/model/traefik-crd.ts';
import { planListeners } from '../../../../src/proxy/listeners/listen-plan.ts';

const svc = (ns: string, name: string, ports: Array<{ name: string; port: number; protocol?: string }>, type = 'ClusterIP'): V1Service => ({
  metadata: { namespace: ns, name, uid: `uid-${name}` },
  spec: { type, ports: ports.map((p) => ({ protocol: 'TCP', ...p })) },
});
const entrypointService = (): V1Service => ({
  ...svc('metalgate-system', 'metalgate-ingress', [
    { name: 'http', port: 80 },
    { name: 'https', port: 443 },
    { name: 'postgres', port: 5432 },
    { name: 'dns', port: 53, protocol: 'UDP' },
  ], 'LoadBalancer'),
  status: { loadBalancer: { ingress: [{ ip: '198.18.0.200' }] } },
});
const route = (kind: 'IngressRouteTCP' | 'IngressRouteUDP', name: string, spec: Record<string, unknown>, created = '2026-01-01T00:00:00Z'): IngressRouteTcpObject => ({
  apiVersion: 'traefik.io/v1alpha1',
  kind,
  metadata: { namespace: 'db', name, creationTimestamp: created as unknown as Date },
  spec,
});

function compiler() {
  const c = new IngressCompiler({ entrypoint: { namespace: 'metalgate-system', name: 'metalgate-ingress' } });
  c.setService(entrypointService());
  c.setService(svc('db', 'pg-primary', [{ name: 'pg', port: 5432 }]));
  c.setService(svc('db', 'pg-replica', [{ name: 'pg', port: 5432 }]));
  c.setService(svc('db', 'coredns', [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53 }]));
  return c;
}
const errors = (c: IngressCompiler) => c.compile().diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.ref.name}:${d.reason}: ${d.message}`);

describe('TCP and UDP routes on entry points of their own', () => {
  test('HostSNI(`*`) on a named TCP port: its Services by weight; a UDP route on a named UDP port', () => {
    const c = compiler();
    c.setTraefik('IngressRouteTCP', route('IngressRouteTCP', 'pg', {
      entryPoints: ['postgres'],
      routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'pg-primary', port: 5432, weight: 3 }, { name: 'pg-replica', port: 'pg' }] }],
    }));
    c.setTraefik('IngressRouteUDP', route('IngressRouteUDP', 'dns', { entryPoints: ['dns'], routes: [{ services: [{ name: 'coredns', port: 53 }] }] }));
    const out = c.compile();
    expect(errors(c)).toEqual([]);
    expect(out.entryRoutes).toEqual([
      { entryPoint: 'dns', protocol: 'UDP', targets: [{ ref: { namespace: 'db', service: 'coredns', portName: 'dns', port: 53 }, weight: 1 }], origin: 'IngressRouteUDP db/dns' },
      {
        entryPoint: 'postgres',
        protocol: 'TCP',
        targets: [
          { ref: { namespace: 'db', service: 'pg-primary', portName: 'pg', port: 5432 }, weight: 3 },
          { ref: { namespace: 'db', service: 'pg-replica', portName: 'pg', port: 5432 }, weight: 1 },
        ],
        origin: 'IngressRouteTCP db/pg',
      },
    ]);
    // The plan puts them on the entrypoint Service's ports, in user space; other ports stay as they were.
    const plan = planListeners(new Set(['198.18.0.200']), [entrypointService()], { ownClassOnly: false, entrypoint: 'metalgate-system/metalgate-ingress', l4Dataplane: 'kernel', entryRoutes: out.entryRoutes });
    const byKey = new Map(plan.listeners.map((l) => [l.key, l]));
    expect(byKey.get('TCP 198.18.0.200:5432')!.route).toEqual({
      origin: 'IngressRouteTCP db/pg',
      targets: [
        { service: 'db/pg-primary', portName: 'pg', weight: 3 },
        { service: 'db/pg-replica', portName: 'pg', weight: 1 },
      ],
    });
    expect(byKey.get('TCP 198.18.0.200:5432')!.l4.dataplane).toBe('proxy');
    expect(byKey.get('UDP 198.18.0.200:53')!.route!.targets).toEqual([{ service: 'db/coredns', portName: 'dns', weight: 1 }]);
    expect(byKey.get('TCP 198.18.0.200:80')!.mode).toBe('http');
    expect(byKey.get('TCP 198.18.0.200:80')!.route).toBeUndefined();
  });

  test('tls on the entry point: terminated with tls.secretName (its Secret shipped like any certificate), the default certificate without it; passthrough forwards as without tls', () => {
    const c = compiler();
    const pg = (tls: Record<string, unknown>) => c.setTraefik('IngressRouteTCP', route('IngressRouteTCP', 'pg', { entryPoints: ['postgres'], tls, routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'pg-primary', port: 5432 }] }] }));
    pg({ secretName: 'pg-tls' });
    let out = c.compile();
    expect(out.entryRoutes[0]!.tls).toEqual({ secretKey: 'db/pg-tls' });
    expect(out.certificates.map((x) => x.secretKey)).toContain('db/pg-tls');
    // The Secret is not there yet: a warning, the default certificate meanwhile.
    expect(out.diagnostics.map((d) => `${d.severity}:${d.reason}`)).toContain('warning:MissingSecret');
    const plan = planListeners(new Set(['198.18.0.200']), [entrypointService()], { ownClassOnly: false, entrypoint: 'metalgate-system/metalgate-ingress', entryRoutes: out.entryRoutes });
    expect(plan.listeners.find((l) => l.key === 'TCP 198.18.0.200:5432')!.route!.tls).toEqual({ secretKey: 'db/pg-tls' });
    pg({});
    out = c.compile();
    expect(out.entryRoutes[0]!.tls).toEqual({});
    pg({ passthrough: true });
    out = c.compile();
    expect(errors(c)).toEqual([]);
    expect(out.entryRoutes[0]!.tls).toBeUndefined();
  });

  test('an ipAllowList guards the entry point (plain addresses as /32); inFlightConn limits each client IP there', () => {
    const c = compiler();
    const mw = (name: string, spec: Record<string, unknown>) => c.setTraefik('MiddlewareTCP', { apiVersion: 'traefik.io/v1alpha1', kind: 'MiddlewareTCP', metadata: { namespace: 'db', name }, spec });
    mw('lan', { ipAllowList: { sourceRange: ['198.18.0.0/24', '198.19.0.7'] } });
    mw('one', { inFlightConn: { amount: 1 } });
    c.setTraefik('IngressRouteTCP', route('IngressRouteTCP', 'pg', { entryPoints: ['postgres'], routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'pg-primary', port: 5432 }], middlewares: [{ name: 'lan' }] }] }));
    expect(c.compile().entryRoutes[0]!.allow).toEqual(['198.18.0.0/24', '198.19.0.7/32']);
    c.setTraefik('IngressRouteTCP', route('IngressRouteTCP', 'pg', { entryPoints: ['postgres'], routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'pg-primary', port: 5432 }], middlewares: [{ name: 'lan' }, { name: 'one' }] }] }));
    const out = c.compile();
    expect(errors(c)).toEqual([]);
    expect(out.entryRoutes[0]).toMatchObject({ allow: ['198.18.0.0/24', '198.19.0.7/32'], maxConnections: 1 });
    const plan = planListeners(new Set(['198.18.0.200']), [entrypointService()], { ownClassOnly: false, entrypoint: 'metalgate-system/metalgate-ingress', l4Dataplane: 'kernel', entryRoutes: out.entryRoutes });
    expect(plan.listeners.find((l) => l.key === 'TCP 198.18.0.200:5432')!.route).toMatchObject({ allow: ['198.18.0.0/24', '198.19.0.7/32'], maxConnections: 1 });
  });

  test.each([
    ['no such port', { entryPoints: ['mysql'], routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'pg-primary', port: 5432 }] }] }, 'NoEntryPoint: entryPoints: the entrypoint Service metalgate-system/metalgate-ingress has no port named mysql: add one (TCP) to open this entry point'],
    ['a UDP port', { entryPoints: ['dns'], routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'pg-primary', port: 5432 }] }] }, 'NoEntryPoint: entryPoints: port dns of the entrypoint Service metalgate-system/metalgate-ingress is UDP, not TCP'],
    ['the HTTP entry point', { entryPoints: ['web'], routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'pg-primary', port: 5432 }] }] }, 'NoEntryPoint: entryPoints: entry point web serves HTTP; a TCP route needs an entry point of its own'],
    ['the HTTP port under another name', { entryPoints: ['http'], routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'pg-primary', port: 5432 }] }] }, 'NoEntryPoint: entryPoints: port http (80) of the entrypoint Service metalgate-system/metalgate-ingress serves HTTP; a TCP route needs a port of its own'],
    ['a host name without tls', { entryPoints: ['postgres'], routes: [{ match: 'HostSNI(`db.example.com`)', services: [{ name: 'pg-primary', port: 5432 }] }] }, 'NeedsTls: routes[0].match: HostSNI(`name`) matches the TLS server name: the route needs tls (terminated, or passthrough: true)'],
    ['a wildcard name', { entryPoints: ['postgres'], tls: {}, routes: [{ match: 'HostSNI(`*.example.com`)', services: [{ name: 'pg-primary', port: 5432 }] }] }, 'BadRule: routes[0].match: wildcard server names are not supported (name each host; HostSNIRegexp is not supported either)'],
    ['HostSNI(`*`) with names', { entryPoints: ['postgres'], tls: {}, routes: [{ match: 'HostSNI(`*`) || HostSNI(`a.example.com`)', services: [{ name: 'pg-primary', port: 5432 }] }] }, 'BadRule: routes[0].match: HostSNI(`*`) matches every connection: it cannot be combined with names'],
    ['no routes', { entryPoints: ['postgres'], routes: [] }, 'NoRoutes: spec.routes is empty'],
    ['tls.options', { entryPoints: ['postgres'], tls: { options: { name: 'strict' } }, routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'pg-primary', port: 5432 }] }] }, 'UnsupportedField: tls.options is not supported on IngressRouteTCP'],
    ['websecure beside it', { entryPoints: ['websecure', 'postgres'], tls: {}, routes: [{ match: 'HostSNI(`a.example.com`)', services: [{ name: 'pg-primary', port: 5432 }] }] }, 'NoEntryPoint: entryPoints ["websecure","postgres"]: websecure (by TLS server name) and entry points of their own cannot share a route here: split it'],
    ['proxyProtocol', { entryPoints: ['postgres'], routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'pg-primary', port: 5432, proxyProtocol: { version: 2 } }] }] }, 'UnsupportedBackend: routes[0].services[0].proxyProtocol is not supported'],
    ['a bad weight', { entryPoints: ['postgres'], routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'pg-primary', port: 5432, weight: -1 }] }] }, 'BadField: routes[0].services[0].weight must be a non-negative integer'],
    ['every weight 0', { entryPoints: ['postgres'], routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'pg-primary', port: 5432, weight: 0 }] }] }, 'BadField: routes[0].services: every weight is 0, so nothing would be served'],
    ['two catch-alls', { entryPoints: ['postgres'], routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'pg-primary', port: 5432 }] }, { match: 'HostSNI(`*`)', services: [{ name: 'pg-replica', port: 5432 }] }] }, 'BadRule: routes[1].match: a second HostSNI(`*`) route: one catch-all per IngressRouteTCP'],
  ])('IngressRouteTCP refused: %s', (_what, spec, message) => {
    const c = compiler();
    c.setTraefik('IngressRouteTCP', route('IngressRouteTCP', 'pg', spec));
    expect(c.compile().entryRoutes).toEqual([]);
    expect(errors(c)[0]).toBe(`pg:${message}`);
    expect(errors(c).at(-1)).toBe('pg:NotServed: the IngressRouteTCP is not served until the errors above are fixed');
  });

  test.each([
    ['no entryPoints', { routes: [{ services: [{ name: 'coredns', port: 53 }] }] }, 'NoEntryPoint: entryPoints must name the UDP entry points (named UDP ports of the entrypoint Service)'],
    ['a TCP port', { entryPoints: ['postgres'], routes: [{ services: [{ name: 'coredns', port: 53 }] }] }, 'NoEntryPoint: entryPoints: port postgres of the entrypoint Service metalgate-system/metalgate-ingress is TCP, not UDP'],
    ['a Service port that is TCP', { entryPoints: ['dns'], routes: [{ services: [{ name: 'pg-primary', port: 5432 }] }] }, 'MissingServicePort: routes[0].services[0]: Service db/pg-primary has no UDP port 5432 (ports: none)'],
    ['another namespace', { entryPoints: ['dns'], routes: [{ services: [{ name: 'coredns', namespace: 'kube-system', port: 53 }] }] }, "UnsupportedBackend: routes[0].services[0]: a Service of the route's namespace, by name"],
  ])('IngressRouteUDP refused: %s', (_what, spec, message) => {
    const c = compiler();
    c.setTraefik('IngressRouteUDP', route('IngressRouteUDP', 'dns', spec));
    expect(c.compile().entryRoutes).toEqual([]);
    expect(errors(c)[0]).toBe(`dns:${message}`);
  });

  test('two objects on one entry point: the older serves it, the newer is told; deleting the older hands it over', () => {
    const c = compiler();
    const spec = (service: string) => ({ entryPoints: ['postgres'], routes: [{ match: 'HostSNI(`*`)', services: [{ name: service, port: 5432 }] }] });
    c.setTraefik('IngressRouteTCP', route('IngressRouteTCP', 'newer', spec('pg-replica'), '2026-02-01T00:00:00Z'));
    c.setTraefik('IngressRouteTCP', route('IngressRouteTCP', 'older', spec('pg-primary'), '2026-01-01T00:00:00Z'));
    const out = c.compile();
    expect(out.entryRoutes.map((r) => r.origin)).toEqual(['IngressRouteTCP db/older']);
    expect(out.diagnostics.find((d) => d.reason === 'DuplicateEntryPoint')?.message).toBe('HostSNI(`*`) on entry point postgres ignored here: IngressRouteTCP db/older (older) takes the connections no route names');
    c.deleteTraefik('IngressRouteTCP', 'traefik.io', 'db/older');
    expect(c.compile().entryRoutes.map((r) => r.origin)).toEqual(['IngressRouteTCP db/newer']);
  });

  test('routes by server name on an entry point of its own: each host to its route, TLS terminated or passed through, the rest to the catch-all', () => {
    const c = compiler();
    c.setTraefik('IngressRouteTCP', route('IngressRouteTCP', 'terminated', {
      entryPoints: ['postgres'],
      tls: { secretName: 'db-tls' },
      routes: [
        { match: 'HostSNI(`Primary.example.com`)', services: [{ name: 'pg-primary', port: 5432 }] },
        { match: 'HostSNI(`replica.example.com`, `ro.example.com`)', services: [{ name: 'pg-replica', port: 5432 }] },
        { match: 'HostSNI(`*`)', services: [{ name: 'pg-primary', port: 5432 }] },
      ],
    }));
    c.setTraefik('IngressRouteTCP', route('IngressRouteTCP', 'passed', {
      entryPoints: ['postgres'],
      tls: { passthrough: true },
      routes: [{ match: 'HostSNI(`ssl.example.com`)', services: [{ name: 'pg-replica', port: 5432 }] }],
    }, '2026-02-01T00:00:00Z'));
    const out = c.compile();
    expect(errors(c)).toEqual([]);
    const primary = { ref: { namespace: 'db', service: 'pg-primary', portName: 'pg', port: 5432 }, weight: 1 };
    const replica = { ref: { namespace: 'db', service: 'pg-replica', portName: 'pg', port: 5432 }, weight: 1 };
    expect(out.entryRoutes).toEqual([
      {
        entryPoint: 'postgres',
        protocol: 'TCP',
        targets: [primary],
        tls: { secretKey: 'db/db-tls' },
        origin: 'IngressRouteTCP db/terminated',
        byName: [
          { hosts: ['primary.example.com'], targets: [primary], tls: { secretKey: 'db/db-tls' }, origin: 'IngressRouteTCP db/terminated' },
          { hosts: ['replica.example.com', 'ro.example.com'], targets: [replica], tls: { secretKey: 'db/db-tls' }, origin: 'IngressRouteTCP db/terminated' },
          { hosts: ['ssl.example.com'], targets: [replica], tls: 'passthrough', origin: 'IngressRouteTCP db/passed' },
        ],
      },
    ]);
    expect(out.certificates.map((x) => x.secretKey)).toContain('db/db-tls');
    const plan = planListeners(new Set(['198.18.0.200']), [entrypointService()], { ownClassOnly: false, entrypoint: 'metalgate-system/metalgate-ingress', entryRoutes: out.entryRoutes });
    expect(plan.listeners.find((l) => l.key === 'TCP 198.18.0.200:5432')!.route!.byName).toEqual([
      { hosts: ['primary.example.com'], targets: [{ service: 'db/pg-primary', portName: 'pg', weight: 1 }], tls: { secretKey: 'db/db-tls' }, origin: 'IngressRouteTCP db/terminated' },
      { hosts: ['replica.example.com', 'ro.example.com'], targets: [{ service: 'db/pg-replica', portName: 'pg', weight: 1 }], tls: { secretKey: 'db/db-tls' }, origin: 'IngressRouteTCP db/terminated' },
      { hosts: ['ssl.example.com'], targets: [{ service: 'db/pg-replica', portName: 'pg', weight: 1 }], tls: 'passthrough', origin: 'IngressRouteTCP db/passed' },
    ]);
  });

  test('only named routes: no catch-all targets (other connections are closed); a host two objects name goes to the older, the newer is told', () => {
    const c = compiler();
    const named = (name: string, host: string, service: string, created: string) =>
      c.setTraefik('IngressRouteTCP', route('IngressRouteTCP', name, { entryPoints: ['postgres'], tls: { passthrough: true }, routes: [{ match: `HostSNI(\`${host}\`)`, services: [{ name: service, port: 5432 }] }] }, created));
    named('newer', 'db.example.com', 'pg-replica', '2026-02-01T00:00:00Z');
    named('older', 'db.example.com', 'pg-primary', '2026-01-01T00:00:00Z');
    const out = c.compile();
    expect(out.entryRoutes).toHaveLength(1);
    expect(out.entryRoutes[0]!.targets).toEqual([]);
    expect(out.entryRoutes[0]!.byName!.map((r) => `${r.hosts.join(',')} ${r.origin}`)).toEqual(['db.example.com IngressRouteTCP db/older']);
    expect(out.diagnostics.find((d) => d.reason === 'DuplicateTcpHost')?.message).toBe('db.example.com on entry point postgres ignored here: IngressRouteTCP db/older (older) routes it');
  });

  test('a port added to the entrypoint Service opens the entry point: the route is served from then on', () => {
    const c = compiler();
    c.setTraefik('IngressRouteTCP', route('IngressRouteTCP', 'redis', { entryPoints: ['redis'], routes: [{ match: 'HostSNI(`*`)', services: [{ name: 'pg-primary', port: 5432 }] }] }));
    expect(c.compile().entryRoutes).toEqual([]);
    const e = entrypointService();
    c.setService({ ...e, spec: { ...e.spec, ports: [...e.spec!.ports!, { name: 'redis', port: 6379, protocol: 'TCP' }] } });
    expect(c.compile().entryRoutes.map((r) => r.entryPoint)).toEqual(['redis']);
  });
});
