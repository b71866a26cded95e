// A model test of the compiler's incremental Ingress pass: after every change
// in a random sequence (Ingresses set and deleted, sharing hosts and paths,
// with canaries, TLS, ssl-redirect, from-to-www-redirect and server-alias),
// the compiler that has seen the whole sequence must publish what a new
// compiler given only the final objects publishes: the same specs, the same
// routing, the same diagnostics; and the changes it reports must take the
// previous specs to the new ones, as a worker applies them.
import { describe, expect, test } from 'vitest';
import type { V1Ingress } from '@kubernetes/client-node';
import { diffRouteSpecs } from '../../../src/ingress/compile/route-wire.ts';
import type { CompiledIngress } from '../../../src/ingress/compile/ingress-compiler.ts';
import type { RouteSpec } from '../../../src/ingress/match/route-table.ts';
import type { RouteTarget } from '../../../src/ingress/model/route-target.ts';
import { compilerWith, ingress, lookupService, NGINX, request, service, tlsSecret } from './translate/fixtures.ts';
import { tableOf } from '../../support/compiled-tables.ts';
import { prng } from '../../support/prng.ts';

const HOSTS = ['a.example', 'b.example', 'www.a.example', 'x.a.example', '*.a.example', ''];
const PATHS = ['/', '/api', '/.well-known/acme-challenge'];
const NAMES = ['i0', 'i1', 'i2', 'i3', 'i4', 'i5', 'i6'];
const SERVICES = ['s0', 's1', 's2'];
const REQUEST_HOSTS = ['a.example', 'b.example', 'www.a.example', 'x.a.example', 'y.a.example', 'www.b.example', 'alias.example', 'other.example'];
const REQUEST_PATHS = ['/', '/api', '/api/v1', '/.well-known/acme-challenge/t', '/z'];

function randomIngress(r: () => number, name: string): V1Ingress {
  const pick = <X,>(xs: readonly X[]): X => xs[Math.floor(r() * xs.length)]!;
  const rules = Array.from({ length: 1 + Math.floor(r() * 3) }, () => ({
    host: pick(HOSTS),
    paths: Array.from({ length: 1 + Math.floor(r() * 2) }, () => ({ path: pick(PATHS), pathType: pick(['Prefix', 'Exact'] as const), service: pick(SERVICES) })),
  }));
  const annotations: Record<string, string> = {};
  if (r() < 0.3) {
    annotations[`${NGINX}canary`] = 'true';
    annotations[`${NGINX}canary-weight`] = String(Math.floor(r() * 100));
  } else {
    if (r() < 0.2) annotations[`${NGINX}from-to-www-redirect`] = 'true';
    if (r() < 0.2) annotations[`${NGINX}server-alias`] = pick(['alias.example', 'b.example', 'alias.example,www.b.example']);
  }
  if (r() < 0.2) annotations[`${NGINX}ssl-redirect`] = 'false';
  if (r() < 0.15) annotations[`${NGINX}force-ssl-redirect`] = 'true';
  const tlsHosts = HOSTS.filter((h) => h !== '' && r() < 0.2);
  return ingress('ns', name, rules, {
    annotations,
    ...(tlsHosts.length > 0 ? { tls: [{ hosts: tlsHosts, secretName: 'tls' }] } : {}),
    created: `2026-01-01T00:00:0${Math.floor(r() * 3)}Z`,
  });
}

/** A table's specs as data, by id. */
function specsAsData(specs: Iterable<[string, RouteSpec<RouteTarget>]>): Record<string, unknown> {
  const map = new Map(specs);
  const wire = diffRouteSpecs(undefined, map).reset ?? [];
  return Object.fromEntries(wire.map((s) => [s.id, JSON.parse(JSON.stringify(s))]).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function routing(out: CompiledIngress): string[] {
  const lines: string[] = [];
  for (const host of REQUEST_HOSTS) {
    for (const path of REQUEST_PATHS) {
      for (const ep of ['web', 'websecure'] as const) {
        const req = request(host, path);
        lines.push(`${ep} ${host}${path} -> ${tableOf(out, ep).lookup(req)?.routeName ?? '404'} ${lookupService(out, req, ep)}`);
      }
    }
  }
  return lines;
}

function diagnostics(out: CompiledIngress): string[] {
  return out.diagnostics.map((d) => `${d.ref.kind} ${d.ref.name} ${d.reason}: ${d.message}`).sort();
}

const fresh = () => compilerWith(SERVICES.map((s) => service('ns', s)));

describe('the incremental Ingress pass publishes what a full pass does', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    test(`seed ${seed}: 60 random changes`, () => {
      const r = prng(seed);
      const c = fresh();
      c.setSecret(tlsSecret('ns', 'tls'));
      const objects = new Map<string, V1Ingress>();
      let prev = c.compile();
      const applied = { web: new Map(prev.specs.web), websecure: new Map(prev.specs.websecure) };
      for (let step = 0; step < 60; step++) {
        const name = NAMES[Math.floor(r() * NAMES.length)]!;
        if (objects.has(name) && r() < 0.25) {
          objects.delete(name);
          c.deleteIngress(`ns/${name}`);
        } else {
          const o = randomIngress(r, name);
          objects.set(name, o);
          c.setIngress(o);
        }
        const out = c.compile();

        const whole = fresh();
        whole.setSecret(tlsSecret('ns', 'tls'));
        for (const o of objects.values()) whole.setIngress(o);
        const full = whole.compile();
        const at = `seed ${seed} step ${step}`;
        expect([...out.specs.web.keys()].sort(), `${at}\n${diagnostics(out).join('\n')}`).toEqual([...full.specs.web.keys()].sort());
        expect(specsAsData(out.specs.web), at).toEqual(specsAsData(full.specs.web));
        expect(specsAsData(out.specs.websecure), at).toEqual(specsAsData(full.specs.websecure));
        expect(routing(out), at).toEqual(routing(full));
        expect(diagnostics(out), at).toEqual(diagnostics(full));

        // The reported changes take the previous specs to these, as a worker applies them.
        for (const ep of ['web', 'websecure'] as const) {
          const delta = out.changes?.[ep];
          if (delta === undefined) applied[ep] = new Map(out.specs[ep]);
          else {
            for (const id of delta.remove) {
              expect(applied[ep].has(id), `${at}: ${ep} removes ${id}, which it had`).toBe(true);
              applied[ep].delete(id);
            }
            for (const s of delta.upsert) applied[ep].set(s.id, s);
          }
          expect([...applied[ep]].sort(([a], [b]) => (a < b ? -1 : 1)), at).toEqual([...out.specs[ep]].sort(([a], [b]) => (a < b ? -1 : 1)));
        }
        // An unchanged route keeps its spec object (the published diff sends only what changed).
        for (const [id, spec] of out.specs.websecure) if (prev.specs.websecure.get(id) !== undefined && out.changes?.websecure?.upsert.every((s) => s.id !== id)) expect(spec).toBe(prev.specs.websecure.get(id));
        prev = out;
      }
    });
  }

  test('a compile with nothing new publishes the same spec versions', () => {
    const c = fresh();
    c.setIngress(ingress('ns', 'a', [{ host: 'a.example', paths: [{ service: 's0' }] }]));
    const first = c.compile();
    c.setService(service('ns', 'unrelated'));
    const second = c.compile();
    expect(second.specs.web).toBe(first.specs.web);
    expect(second.specs.websecure).toBe(first.specs.websecure);
    expect(second.changed).toBe(0);
  });
});
