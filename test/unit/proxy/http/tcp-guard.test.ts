// TcpGuard: Traefik's TCP ipAllowList and inFlightConn, the latter counted per
// client IP as Traefik counts it, once per node in the shared tables.
import { describe, expect, test } from 'vitest';
import { allocateSharedLimits, sharedLimitsOf } from '../../../../src/ingress/runtime/shared-limits.ts';
import { TcpGuard } from '../../../../src/proxy/http/tcp-guard.ts';

describe('TcpGuard', () => {
  test('inFlightConn: each client IP may hold `amount` connections; one at its limit does not lock out another', () => {
    const g = new TcpGuard({ maxConnections: 2 });
    const a1 = g.admit('198.18.0.1');
    const a2 = g.admit('198.18.0.1');
    expect(a1).toBeDefined();
    expect(a2).toBeDefined();
    expect(g.admit('198.18.0.1')).toBeUndefined();
    expect(g.admit('198.18.0.2')).toBeDefined();
    a1!();
    a1!(); // a second release counts nothing
    expect(g.admit('198.18.0.1')).toBeDefined();
    expect(g.admit('198.18.0.1')).toBeUndefined();
  });

  test('an IPv4-mapped IPv6 address counts as its IPv4 address', () => {
    const g = new TcpGuard({ maxConnections: 1 });
    expect(g.admit('::ffff:198.18.0.1')).toBeDefined();
    expect(g.admit('198.18.0.1')).toBeUndefined();
  });

  test('ipAllowList: outside the ranges refused, inside admitted; no limit means nothing to count', () => {
    const g = new TcpGuard({ allow: ['198.18.0.0/24', '2001:db8::1'] });
    expect(g.admit('198.18.1.1')).toBeUndefined();
    expect(g.admit(undefined)).toBeUndefined();
    for (let i = 0; i < 100; i++) expect(g.admit('198.18.0.9')).toBeDefined();
    expect(g.admit('2001:db8::1')).toBeDefined();
  });

  test('two workers guarding the same route count in the same shared table: a client is counted once for the node', () => {
    const { inFlight } = sharedLimitsOf(allocateSharedLimits(16, 1024));
    const worker0 = new TcpGuard({ maxConnections: 2 }, { counts: inFlight, id: 'TCP 198.18.0.200:5432\u00002' });
    const worker1 = new TcpGuard({ maxConnections: 2 }, { counts: inFlight, id: 'TCP 198.18.0.200:5432\u00002' });
    const other = new TcpGuard({ maxConnections: 2 }, { counts: inFlight, id: 'TCP 198.18.0.201:5432\u00002' });
    const first = worker0.admit('198.18.0.1')!;
    expect(worker1.admit('198.18.0.1')).toBeDefined();
    expect(worker0.admit('198.18.0.1')).toBeUndefined();
    expect(worker1.admit('198.18.0.1')).toBeUndefined();
    // Another route's count is its own.
    expect(other.admit('198.18.0.1')).toBeDefined();
    first();
    first(); // twice: counted out once
    expect(worker1.admit('198.18.0.1')).toBeDefined();
    expect(worker0.admit('198.18.0.1')).toBeUndefined();
  });
});
