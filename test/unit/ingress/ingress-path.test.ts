import { describe, expect, test } from 'vitest';
import {
  compareIngressPaths,
  compileIngressPath,
  ingressPathMatches,
  type IngressPath,
  type IngressPathType,
} from '../../../src/ingress/match/ingress-path.ts';
import { compileRouteTable, type RouteSpec } from '../../../src/ingress/match/route-table.ts';
import { EMPTY_REQUEST } from '../../../src/ingress/match/request-view.ts';

function path(p: string, type: IngressPathType): IngressPath {
  const r = compileIngressPath(p, type);
  if (!r.ok) throw new Error(r.error);
  return r.path;
}

/**
 * The "Examples" table of the Kubernetes Ingress documentation
 * (concepts/services-networking/ingress, Path types), row by row. `paths`
 * are the Ingress's paths; `matches` is which of them must answer, or null
 * for "no match, uses default backend".
 */
const K8S_TABLE: readonly {
  kind: string;
  paths: readonly [string, IngressPathType][];
  requests: readonly string[];
  matches: string | null;
}[] = [
  { kind: 'Prefix', paths: [['/', 'Prefix']], requests: ['/', '/foo', '/foo/bar', '/aaa/bbb/ccc', '/x.html'], matches: '/' },
  { kind: 'Exact', paths: [['/foo', 'Exact']], requests: ['/foo'], matches: '/foo' },
  { kind: 'Exact', paths: [['/foo', 'Exact']], requests: ['/bar'], matches: null },
  { kind: 'Exact', paths: [['/foo', 'Exact']], requests: ['/foo/'], matches: null },
  { kind: 'Exact', paths: [['/foo/', 'Exact']], requests: ['/foo'], matches: null },
  { kind: 'Prefix', paths: [['/foo', 'Prefix']], requests: ['/foo', '/foo/'], matches: '/foo' },
  { kind: 'Prefix', paths: [['/foo/', 'Prefix']], requests: ['/foo', '/foo/'], matches: '/foo/' },
  { kind: 'Prefix', paths: [['/aaa/bb', 'Prefix']], requests: ['/aaa/bbb'], matches: null },
  { kind: 'Prefix', paths: [['/aaa/bbb', 'Prefix']], requests: ['/aaa/bbb'], matches: '/aaa/bbb' },
  { kind: 'Prefix', paths: [['/aaa/bbb/', 'Prefix']], requests: ['/aaa/bbb'], matches: '/aaa/bbb/' }, // ignores trailing slash
  { kind: 'Prefix', paths: [['/aaa/bbb', 'Prefix']], requests: ['/aaa/bbb/'], matches: '/aaa/bbb' }, // matches trailing slash
  { kind: 'Prefix', paths: [['/aaa/bbb', 'Prefix']], requests: ['/aaa/bbb/ccc'], matches: '/aaa/bbb' }, // matches subpath
  { kind: 'Prefix', paths: [['/aaa/bbb', 'Prefix']], requests: ['/aaa/bbbxyz'], matches: null }, // not a string prefix
  { kind: 'Prefix', paths: [['/', 'Prefix'], ['/aaa', 'Prefix']], requests: ['/aaa/ccc'], matches: '/aaa' },
  {
    kind: 'Prefix',
    paths: [['/', 'Prefix'], ['/aaa', 'Prefix'], ['/aaa/bbb', 'Prefix']],
    requests: ['/aaa/bbb'],
    matches: '/aaa/bbb',
  },
  { kind: 'Prefix', paths: [['/', 'Prefix'], ['/aaa', 'Prefix'], ['/aaa/bbb', 'Prefix']], requests: ['/ccc'], matches: '/' },
  { kind: 'Prefix', paths: [['/aaa', 'Prefix']], requests: ['/ccc'], matches: null }, // default backend
  { kind: 'Mixed', paths: [['/foo', 'Prefix'], ['/foo', 'Exact']], requests: ['/foo'], matches: '/foo (Exact)' },
];

describe('Kubernetes documentation path table, through the route table', () => {
  for (const row of K8S_TABLE) {
    const label = row.paths.map(([p, t]) => `${p} (${t})`).join(', ');
    for (const request of row.requests) {
      test(`${row.kind} ${label}: ${request} -> ${row.matches ?? 'default backend'}`, () => {
        const routes: RouteSpec<string>[] = row.paths.map(([p, t], i) => ({
          kind: 'ingress',
          id: `r${i}`,
          source: 'ingress',
          host: 'foo.bar.com',
          path: p,
          pathType: t,
          target: row.kind === 'Mixed' ? `${p} (${t})` : p,
        }));
        const table = compileRouteTable(routes, { defaultTarget: 'default-backend' });
        const got = table.lookup({ ...EMPTY_REQUEST, host: 'foo.bar.com', path: request });
        expect(got).toBe(row.matches ?? 'default-backend');
      });
    }
  }
});

describe('ingressPathMatches', () => {
  const cases: [string, IngressPathType, string, boolean][] = [
    ['/', 'Prefix', '/', true],
    ['/', 'Prefix', '', true],
    ['/', 'Exact', '/', true],
    ['/', 'Exact', '/a', false],
    ['/foo', 'Prefix', '/foobar', false],
    ['/foo', 'Prefix', '/foo//bar', true],
    ['/foo//', 'Prefix', '/foo', true],
    ['/foo', 'Prefix', '/Foo', false], // case-sensitive
    ['/foo', 'Exact', '/FOO', false],
    ['/foo/bar', 'Prefix', '/foo/barbaz', false],
    ['/foo/bar', 'Prefix', '/foo/bar/baz', true],
    ['/foo', 'ImplementationSpecific', '/foo/x', true],
    ['/foo', 'ImplementationSpecific', '/foox', false],
  ];
  for (const [p, t, req, want] of cases) {
    test(`${t} ${p} vs ${JSON.stringify(req)} -> ${want}`, () => {
      expect(ingressPathMatches(path(p, t), req)).toBe(want);
    });
  }
});

describe('compileIngressPath', () => {
  test('normalizes Prefix trailing slashes, keeps Exact as written', () => {
    expect(path('/foo/', 'Prefix')).toMatchObject({ path: '/foo', length: 4, exact: false });
    expect(path('/', 'Prefix')).toMatchObject({ path: '', length: 0 });
    expect(path('/foo/', 'Exact')).toMatchObject({ path: '/foo/', length: 5, exact: true });
  });
  test('absent path and type mean / ImplementationSpecific (Prefix semantics)', () => {
    const r = compileIngressPath(undefined, undefined);
    expect(r.ok && r.path).toMatchObject({ pathType: 'ImplementationSpecific', exact: false, path: '' });
  });
  test('rejects relative paths and unknown types', () => {
    expect(compileIngressPath('foo', 'Prefix')).toEqual({ ok: false, error: 'path "foo" must be absolute (start with "/")' });
    expect(compileIngressPath('/a', 'Regex' as IngressPathType)).toEqual({
      ok: false,
      error: 'unknown pathType "Regex" (Exact, Prefix or ImplementationSpecific)',
    });
  });
  test('precedence: longer first, Exact before Prefix on equal length', () => {
    const list = [path('/', 'Prefix'), path('/foo/', 'Prefix'), path('/foo', 'Exact'), path('/foo/bar', 'Prefix'), path('/', 'Exact')];
    list.sort(compareIngressPaths);
    expect(list.map((p) => `${p.path}:${p.exact ? 'E' : 'P'}`)).toEqual(['/foo/bar:P', '/foo:E', '/foo:P', '/:E', ':P']);
  });
});
