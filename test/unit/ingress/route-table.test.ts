import { describe, expect, test } from 'vitest';
import { compileTraefikRule, type CompiledTraefikRule } from '../../../src/ingress/match/traefik-rule-compiler.ts';
import type { RuleSyntax } from '../../../src/ingress/match/traefik-rule-matchers.ts';
import { EMPTY_REQUEST, type HttpRequestInfo } from '../../../src/ingress/match/request-view.ts';
import {
  compileRouteTable,
  type IngressRouteSpec,
  type RouteSpec,
  type TraefikRouteSpec,
} from '../../../src/ingress/match/route-table.ts';
import type { IngressPathType } from '../../../src/ingress/match/ingress-path.ts';

function rule(src: string, syntax: RuleSyntax = 'v3'): CompiledTraefikRule {
  const r = compileTraefikRule(src, { syntax });
  if (!r.ok) throw new Error(r.error.message);
  return r.rule;
}

function ing(id: string, host: string | undefined, path: string, pathType: IngressPathType = 'Prefix', extra: Partial<IngressRouteSpec<string>> = {}): RouteSpec<string> {
  return { kind: 'ingress', id, source: 'ingress', host, path, pathType, target: id, ...extra };
}

function tr(id: string, src: string, priority?: number, syntax: RuleSyntax = 'v3'): TraefikRouteSpec<string> {
  return { kind: 'traefik', id, source: 'traefik', rule: rule(src, syntax), priority, target: id };
}

function rq(host: string, path = '/', more: Partial<HttpRequestInfo> = {}): HttpRequestInfo {
  return { ...EMPTY_REQUEST, host, path, ...more };
}

describe('host tiers', () => {
  const table = compileRouteTable(
    [
      ing('exact-root', 'foo.bar.com', '/'),
      ing('wild-root', '*.bar.com', '/'),
      ing('wild-api', '*.bar.com', '/api'),
      ing('any-root', undefined, '/'),
      ing('exact-only-x', 'x.bar.com', '/x', 'Exact'),
    ],
    { defaultTarget: 'default' },
  );
  const cases: [string, string, string][] = [
    ['foo.bar.com', '/api', 'exact-root'], // exact host beats a longer wildcard path
    ['baz.bar.com', '/api/v1', 'wild-api'],
    ['baz.bar.com', '/', 'wild-root'],
    ['a.b.bar.com', '/', 'any-root'], // wildcard covers one label only
    ['bar.com', '/', 'any-root'],
    ['x.bar.com', '/x', 'exact-only-x'],
    ['x.bar.com', '/y', 'wild-root'], // falls through to the wildcard tier
    ['FOO.BAR.COM:8080', '/', 'exact-root'],
    ['', '/', 'any-root'],
  ];
  for (const [host, path, want] of cases) test(`${host}${path} -> ${want}`, () => expect(table.lookup(rq(host, path))).toBe(want));

  test('no match anywhere gives the default target, and match() undefined', () => {
    const t = compileRouteTable([ing('a', 'a.com', '/a')], { defaultTarget: 'default' });
    expect(t.lookup(rq('a.com', '/b'))).toBe('default');
    expect(t.match(rq('a.com', '/b'))).toBeUndefined();
    expect(compileRouteTable([ing('a', 'a.com', '/a')]).lookup(rq('b.com'))).toBeUndefined();
  });
});

describe('Ingress precedence within a host', () => {
  test('longest path, then Exact over Prefix, then conditioned first, then id', () => {
    const canary = rule('Header(`X-Canary`, `always`)');
    const table = compileRouteTable([
      ing('p-root', 'h.com', '/'),
      ing('p-foo', 'h.com', '/foo'),
      ing('e-foo', 'h.com', '/foo', 'Exact'),
      ing('p-foo-slash', 'h.com', '/foo/'),
      ing('p-foobar', 'h.com', '/foo/bar'),
      ing('p-foo-canary', 'h.com', '/foo', 'Prefix', { condition: canary }),
      ing('b-dup', 'h.com', '/dup'),
      ing('a-dup', 'h.com', '/dup'),
    ]);
    expect(table.candidates('h.com').map((m) => m.id)).toEqual([
      'p-foobar',
      'e-foo',
      'p-foo-canary',
      'a-dup', // same length as /foo: ties by id
      'b-dup',
      'p-foo',
      'p-foo-slash',
      'p-root',
    ]);
    expect(table.lookup(rq('h.com', '/foo'))).toBe('e-foo');
    expect(table.lookup(rq('h.com', '/foo/x'))).toBe('p-foo');
    expect(table.lookup(rq('h.com', '/foo/x', { headers: { 'x-canary': 'always' } }))).toBe('p-foo-canary');
    expect(table.lookup(rq('h.com', '/foo/bar/baz'))).toBe('p-foobar');
    expect(table.lookup(rq('h.com', '/foobar'))).toBe('p-root');
    expect(table.lookup(rq('h.com', '/dup'))).toBe('a-dup');
  });

  test('the result does not depend on input order', () => {
    const routes = [ing('1', 'h.com', '/a'), ing('2', 'h.com', '/a', 'Exact'), ing('3', 'h.com', '/'), tr('4', 'Host(`h.com`) && Path(`/a`)')];
    const forward = compileRouteTable(routes);
    const backward = compileRouteTable([...routes].reverse());
    expect(forward.candidates('h.com').map((m) => m.id)).toEqual(backward.candidates('h.com').map((m) => m.id));
  });
});

describe('Traefik priorities', () => {
  test('priority descending; default priority is the rule length; ties by id', () => {
    const table = compileRouteTable([
      tr('short', 'PathPrefix(`/`)'), // 15
      tr('long', 'PathPrefix(`/api`)'), // 18
      tr('explicit', 'PathPrefix(`/`)', 100),
      tr('tie-b', 'Path(`/x`)', 5),
      tr('tie-a', 'Path(`/x`)', 5),
      tr('negative', 'Path(`/x`)', -1),
    ]);
    expect(table.candidates('any.host').map((m) => m.id)).toEqual(['explicit', 'long', 'short', 'tie-a', 'tie-b', 'negative']);
    expect(table.lookup(rq('a.com', '/api'))).toBe('explicit');
  });

  test('longer rule wins by default, as in Traefik', () => {
    const table = compileRouteTable([tr('api', 'Host(`a.com`) && PathPrefix(`/api`)'), tr('all', 'Host(`a.com`)')]);
    expect(table.lookup(rq('a.com', '/api/x'))).toBe('api');
    expect(table.lookup(rq('a.com', '/web'))).toBe('all');
  });

  test('rules are indexed by their Host set, others are host-less', () => {
    const table = compileRouteTable([
      tr('ab', '(Host(`a.com`) || Host(`b.com`)) && Path(`/`)'),
      tr('v2', 'Host(`c.com`, `d.com`)', undefined, 'v2'),
      tr('regexp', 'HostRegexp(`^e\\.com$`)'),
      tr('not', '!Host(`a.com`) && Path(`/n`)'),
    ]);
    // Host-less ones by default priority: `not` (27) before `regexp` (23).
    expect(table.candidates('a.com').map((m) => m.id)).toEqual(['ab', 'not', 'regexp']);
    expect(table.candidates('d.com').map((m) => m.id)).toEqual(['v2', 'not', 'regexp']);
    expect(table.lookup(rq('b.com'))).toBe('ab');
    expect(table.lookup(rq('d.com', '/z'))).toBe('v2');
    expect(table.lookup(rq('e.com'))).toBe('regexp');
    expect(table.lookup(rq('f.com', '/n'))).toBe('not');
    expect(table.lookup(rq('a.com', '/n'))).toBeUndefined();
  });
});

describe('mixing dialects', () => {
  const routes: RouteSpec<string>[] = [
    ing('ing-root', 'a.com', '/'),
    ing('ing-api', 'a.com', '/api'),
    tr('tr-admin', 'Host(`a.com`) && PathPrefix(`/admin`)'),
    tr('tr-catchall', 'PathPrefix(`/`)', 1000),
    ing('ing-any', undefined, '/healthz', 'Exact'),
  ];
  test('traefik-first (default): within a host tier Traefik rules go first', () => {
    const t = compileRouteTable(routes);
    expect(t.candidates('a.com').map((m) => m.id)).toEqual(['tr-admin', 'ing-api', 'ing-root', 'tr-catchall', 'ing-any']);
    expect(t.lookup(rq('a.com', '/admin/x'))).toBe('tr-admin');
    expect(t.lookup(rq('a.com', '/healthz'))).toBe('ing-root'); // host tier beats the host-less tier
    expect(t.lookup(rq('b.com', '/healthz'))).toBe('tr-catchall');
  });
  test('ingress-first', () => {
    const t = compileRouteTable(routes, { dialectOrder: 'ingress-first' });
    expect(t.candidates('a.com').map((m) => m.id)).toEqual(['ing-api', 'ing-root', 'tr-admin', 'ing-any', 'tr-catchall']);
    expect(t.lookup(rq('a.com', '/admin/x'))).toBe('ing-root');
    expect(t.lookup(rq('b.com', '/healthz'))).toBe('ing-any');
  });
  test('match() reports id, source and dialect', () => {
    const m = compileRouteTable(routes).match(rq('a.com', '/admin'));
    expect(m).toMatchObject({ id: 'tr-admin', source: 'traefik', dialect: 'traefik', target: 'tr-admin' });
  });
});

describe('bad routes are reported and left out, the rest works', () => {
  test('issues', () => {
    const t = compileRouteTable([
      ing('bad-host', 'foo_bar.com', '/'),
      ing('bad-path', 'a.com', 'relative'),
      tr('bad-priority', 'Path(`/`)', 1.5),
      tr('never', 'Host(`a.com`) && Host(`b.com`)'),
      ing('good', 'a.com', '/'),
      ing('good', 'a.com', '/dup'),
    ]);
    expect(t.size).toBe(1);
    expect(t.issues).toEqual([
      {
        id: 'bad-host',
        source: 'ingress',
        message: 'invalid host "foo_bar.com": labels must be 1-63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit',
      },
      { id: 'bad-path', source: 'ingress', message: 'path "relative" must be absolute (start with "/")' },
      { id: 'bad-priority', source: 'traefik', message: 'priority must be an integer, got 1.5' },
      { id: 'never', source: 'traefik', message: 'rule "Host(`a.com`) && Host(`b.com`)" can never match: its Host matchers exclude each other' },
      { id: 'good', source: 'ingress', message: 'duplicate route id "good"; the first one is kept' },
    ]);
    expect(t.lookup(rq('a.com', '/dup'))).toBe('good');
  });
});

describe('immutability and update()', () => {
  test('the table and its answers are frozen', () => {
    const t = compileRouteTable([ing('a', 'a.com', '/')]);
    expect(Object.isFrozen(t)).toBe(true);
    expect(Object.isFrozen(t.issues)).toBe(true);
    const m = t.match(rq('a.com'));
    expect(Object.isFrozen(m)).toBe(true);
  });

  /** A deterministic pseudo-random route set for equivalence checks. */
  function routeSet(n: number, seed: number): RouteSpec<string>[] {
    let s = seed;
    const rnd = (k: number): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return (s >>> 8) % k;
    };
    const hosts = ['a.com', 'b.com', '*.w.com', undefined, 'c.w.com'];
    const paths = ['/', '/a', '/a/b', '/b', '/a/'];
    const out: RouteSpec<string>[] = [];
    for (let i = 0; i < n; i++) {
      if (rnd(4) === 0) {
        const h = ['a.com', 'c.w.com', 'z.com'][rnd(3)]!;
        out.push(tr(`r${i}`, rnd(2) ? `Host(\`${h}\`) && PathPrefix(\`${paths[rnd(5)]}\`)` : `PathPrefix(\`${paths[rnd(5)]}\`)`, rnd(3)));
      } else {
        out.push(ing(`r${i}`, hosts[rnd(5)], paths[rnd(5)]!, rnd(2) ? 'Exact' : 'Prefix'));
      }
    }
    return out;
  }
  const probes: HttpRequestInfo[] = [];
  for (const h of ['a.com', 'b.com', 'c.w.com', 'd.w.com', 'z.com', 'nope.org']) {
    for (const p of ['/', '/a', '/a/', '/a/b', '/a/b/c', '/b', '/ab', '/c']) probes.push(rq(h, p));
  }
  const answers = (t: { lookup(r: HttpRequestInfo): string | undefined }): (string | undefined)[] => probes.map((p) => t.lookup(p));

  test('update() answers exactly like a full rebuild of the changed list', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const routes = routeSet(40, seed);
      const t0 = compileRouteTable(routes, { defaultTarget: 'd' });
      const replaced = routeSet(45, seed + 1000).slice(35).map((r, i) => ({ ...r, id: `r${(i * 7) % 40}` }));
      const added = routeSet(3, seed + 2000).map((r, i) => ({ ...r, id: `new${i}` }));
      const removed = ['r1', 'r2', 'r3', 'missing'];
      const t1 = t0.update({ upsert: [...replaced, ...added], remove: removed });

      const byId = new Map(routes.map((r) => [r.id, r]));
      for (const id of removed) byId.delete(id);
      for (const r of [...replaced, ...added]) byId.set(r.id, r);
      const rebuilt = compileRouteTable([...byId.values()], { defaultTarget: 'd' });

      expect(answers(t1), `seed ${seed}`).toEqual(answers(rebuilt));
      expect(t1.size).toBe(rebuilt.size);
      // The old table is untouched.
      expect(answers(t0)).toEqual(answers(compileRouteTable(routes, { defaultTarget: 'd' })));
    }
  });

  test('a chain of small updates (each sharing the last one\'s index) answers like a rebuild at every step', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const byId = new Map(routeSet(200, seed).map((r) => [r.id, r]));
      let t = compileRouteTable([...byId.values()], { defaultTarget: 'd' });
      const versions: Array<[typeof t, (string | undefined)[]]> = [];
      for (let step = 0; step < 120; step++) {
        const upsert = routeSet(2, seed * 1000 + step).map((r, i) => ({ ...r, id: `r${(step * 13 + i * 71) % 260}` }));
        const remove = [`r${(step * 29) % 260}`];
        t = t.update({ upsert, remove });
        for (const id of remove) byId.delete(id);
        for (const r of upsert) byId.set(r.id, r);
        const want = answers(compileRouteTable([...byId.values()], { defaultTarget: 'd' }));
        expect(answers(t), `seed ${seed} step ${step}`).toEqual(want);
        expect(t.size).toBe(byId.size);
        versions.push([t, want]);
      }
      // Every version still answers as it did when it was made.
      for (const [v, want] of versions) expect(answers(v)).toEqual(want);
    }
  });

  test('update() can fix or break a route, issues follow', () => {
    const t0 = compileRouteTable([ing('x', 'bad_host', '/'), ing('y', 'y.com', '/')]);
    expect(t0.issues.map((i) => i.id)).toEqual(['x']);
    const t1 = t0.update({ upsert: [ing('x', 'x.com', '/'), ing('y', 'y.com', 'nope')] });
    expect(t1.issues.map((i) => i.id)).toEqual(['y']);
    expect(t1.lookup(rq('x.com'))).toBe('x');
    expect(t1.lookup(rq('y.com'))).toBeUndefined();
    expect(t0.lookup(rq('y.com'))).toBe('y');
  });
});
