import { describe, expect, test } from 'vitest';
import { Allocator, type AllocationResult } from '../../../src/ipam/allocator.ts';
import { pool, req, type RequestSpec } from './helpers.ts';

function ipsOf(result: AllocationResult): string[] {
  if (!result.ok) throw new Error(`expected success, got: ${result.reason}`);
  return result.ips;
}

function reasonOf(result: AllocationResult): string {
  if (result.ok) throw new Error(`expected failure, got ${result.ips.join(', ')}`);
  return result.reason;
}

describe('auto-assignment', () => {
  test('takes the lowest free address, in order', () => {
    const a = new Allocator([pool('default', ['198.18.0.0/30'])]);
    expect(['a', 'b', 'c'].map((k) => ipsOf(a.allocate(req(`ns/${k}`)))[0])).toEqual([
      '198.18.0.0',
      '198.18.0.1',
      '198.18.0.2',
    ]);
  });

  test('walks pools in config order, skipping auto-assign=false pools', () => {
    const a = new Allocator([
      pool('manual', ['198.18.9.0/30'], { autoAssign: false }),
      pool('first', ['198.18.1.0/31']),
      pool('second', ['198.18.0.0/30']),
    ]);
    const got = ['a', 'b', 'c'].map((k) => a.allocate(req(`ns/${k}`)));
    expect(got.map((r) => ipsOf(r)[0])).toEqual(['198.18.1.0', '198.18.1.1', '198.18.0.0']);
    expect(got.map((r) => (r.ok ? r.assignments[0]!.pool : ''))).toEqual(['first', 'first', 'second']);
  });

  test('within a pool, the lowest address wins whatever order the ranges are listed in', () => {
    const a = new Allocator([pool('p', ['198.18.5.0/31', '198.18.0.10-198.18.0.11'])]);
    expect(ipsOf(a.allocate(req('ns/a')))).toEqual(['198.18.0.10']);
    expect(ipsOf(a.allocate(req('ns/b')))).toEqual(['198.18.0.11']);
    expect(ipsOf(a.allocate(req('ns/c')))).toEqual(['198.18.5.0']);
  });

  test('the same config and the same calls give the same answers', () => {
    const run = (): string[] => {
      const a = new Allocator([pool('x', ['198.18.2.0/29']), pool('y', ['198.18.1.0/29'])]);
      const out: string[] = [];
      for (let i = 0; i < 12; i++) out.push(...ipsOf(a.allocate(req(`ns/s${i}`))));
      a.release('ns/s3');
      a.release('ns/s9');
      out.push(...ipsOf(a.allocate(req('ns/t1'))), ...ipsOf(a.allocate(req('ns/t2'))));
      return out;
    };
    const first = run();
    expect(run()).toEqual(first);
    expect(first.slice(-2)).toEqual(['198.18.2.3', '198.18.1.1']);
  });

  test.each<[string, ConstructorParameters<typeof Allocator>[0], RequestSpec, string]>([
    ['pool exhausted', [pool('default', ['198.18.0.0/31'])], {}, 'no available IPv4 IPs in any auto-assign pool'],
    ['no pool of the family', [pool('default', ['198.18.0.0/24'])], { families: [6] }, 'no auto-assign pool has IPv6 addresses'],
    ['only manual pools', [pool('m', ['198.18.0.0/24'], { autoAssign: false })], {}, 'no auto-assign pool has IPv4 addresses'],
    ['named pool exhausted', [pool('default', ['198.18.0.0/31'])], { pool: 'default' }, 'no available IPs in pool "default" for IPv4'],
    ['named pool lacks family', [pool('default', ['198.18.0.0/24'])], { pool: 'default', families: [6] }, 'pool "default" has no IPv6 addresses'],
  ])('failure reason: %s', (_name, pools, spec, reason) => {
    const a = new Allocator(pools);
    a.allocate(req('ns/fill1'));
    a.allocate(req('ns/fill2'));
    expect(reasonOf(a.allocate(req('ns/x', spec)))).toBe(reason);
  });
});

describe('requested IPs', () => {
  const pools = [
    pool('default', ['198.18.0.0/28']),
    pool('manual', ['198.18.1.0/28'], { autoAssign: false }),
    pool('buggy', ['198.18.2.0/24'], { avoidBuggyIps: true }),
  ];

  test.each<[string, RequestSpec, string[] | string]>([
    ['inside a pool', { ips: ['198.18.0.7'] }, ['198.18.0.7']],
    ['inside an auto-assign=false pool', { ips: ['198.18.1.3'] }, ['198.18.1.3']],
    ['outside every pool', { ips: ['198.18.3.7'] }, 'requested IP 198.18.3.7 is not in any pool'],
    ['inside the named pool', { ips: ['198.18.1.4'], pool: 'manual' }, ['198.18.1.4']],
    ['outside the named pool', { ips: ['198.18.0.4'], pool: 'manual' }, 'requested IP 198.18.0.4 is not in pool "manual"'],
    ['.0 of an avoid-buggy-ips pool', { ips: ['198.18.2.0'] }, 'requested IP 198.18.2.0 ends in .0 or .255 and pool "buggy" has avoid-buggy-ips set'],
    ['.255 of an avoid-buggy-ips pool', { ips: ['198.18.2.255'] }, 'requested IP 198.18.2.255 ends in .0 or .255 and pool "buggy" has avoid-buggy-ips set'],
    ['.0 of an ordinary pool', { ips: ['198.18.0.0'] }, ['198.18.0.0']],
    ['family the Service lacks', { ips: ['2001:db8::1'] }, 'requested IP 2001:db8::1 is IPv6 but the Service has no IPv6 family'],
    ['unknown pool', { pool: 'nope' }, 'unknown address pool "nope"'],
  ])('%s', (_name, spec, expected) => {
    const result = new Allocator(pools).allocate(req('ns/svc', spec));
    if (typeof expected === 'string') expect(reasonOf(result)).toBe(expected);
    else expect(ipsOf(result)).toEqual(expected);
  });

  test('a requested IP held by another Service is refused with the holder named', () => {
    const a = new Allocator(pools);
    ipsOf(a.allocate(req('default/web', { ips: ['198.18.0.5'], share: 'k1' })));
    expect(reasonOf(a.allocate(req('default/api', { ips: ['198.18.0.5'], share: 'k2', ports: ['TCP/443'] })))).toMatch(
      /^IP 198\.18\.0\.5 is in use by default\/web and the sharing key differs/,
    );
  });

  test('auto-assignment skips addresses taken by explicit requests', () => {
    const a = new Allocator([pool('default', ['198.18.0.0/29'])]);
    a.allocate(req('ns/x', { ips: ['198.18.0.0'] }));
    a.allocate(req('ns/y', { ips: ['198.18.0.1'] }));
    a.allocate(req('ns/z', { ips: ['198.18.0.3'] }));
    expect(ipsOf(a.allocate(req('ns/a')))).toEqual(['198.18.0.2']);
    expect(ipsOf(a.allocate(req('ns/b')))).toEqual(['198.18.0.4']);
  });

  test('named auto-assign=false pool is used for auto-assignment', () => {
    const a = new Allocator(pools);
    expect(ipsOf(a.allocate(req('ns/a', { pool: 'manual' })))).toEqual(['198.18.1.0']);
  });
});

describe('avoid-buggy-ips', () => {
  test('skips x.x.x.0 and x.x.x.255 and counts only usable addresses', () => {
    const a = new Allocator([pool('p', ['198.18.0.254-198.18.1.2'], { avoidBuggyIps: true })]);
    const got = ['a', 'b', 'c'].map((k) => ipsOf(a.allocate(req(`ns/${k}`)))[0]);
    expect(got).toEqual(['198.18.0.254', '198.18.1.1', '198.18.1.2']);
    expect(reasonOf(a.allocate(req('ns/d')))).toBe('no available IPv4 IPs in any auto-assign pool');
    expect(a.stats()).toEqual([{ pool: 'p', family: 4, total: 3n, inUse: 3 }]);
  });

  test('a /16 loses 2 of every 256', () => {
    const a = new Allocator([pool('p', ['198.18.0.0/16'], { avoidBuggyIps: true })]);
    expect(a.stats()[0]!.total).toBe(65536n - 512n);
  });

  test('does not apply to IPv6', () => {
    const a = new Allocator([pool('p', ['2001:db8::/120'], { avoidBuggyIps: true })]);
    expect(ipsOf(a.allocate(req('ns/a', { families: [6] })))).toEqual(['2001:db8::']);
    expect(a.stats()[0]!.total).toBe(256n);
  });

  test('a released buggy address restored from status is not handed out again', () => {
    const a = new Allocator([pool('p', ['198.18.0.0/24'], { avoidBuggyIps: true })]);
    a.restore(req('ns/old'), ['198.18.0.0']);
    expect(ipsOf(a.allocate(req('ns/a')))).toEqual(['198.18.0.1']);
    a.release('ns/old');
    expect(ipsOf(a.allocate(req('ns/b')))).toEqual(['198.18.0.2']);
  });
});

describe('sharing', () => {
  const pools = [pool('default', ['198.18.0.0/28'])];
  const shared = '198.18.0.0';

  test.each<[string, RequestSpec, RequestSpec, string | undefined]>([
    ['same key, different ports', { share: 'k' }, { share: 'k', ports: ['TCP/443'] }, undefined],
    ['same key, same port number on another protocol', { share: 'k', ports: ['TCP/53'] }, { share: 'k', ports: ['UDP/53'] }, undefined],
    ['different keys', { share: 'k' }, { share: 'other', ports: ['TCP/443'] }, 'and the sharing key differs ("other" here, "k" there)'],
    ['holder has no key', {}, { share: 'k', ports: ['TCP/443'] }, 'ns/first has no allow-shared-ip annotation'],
    ['newcomer has no key', { share: 'k' }, { ports: ['TCP/443'] }, 'this Service has no allow-shared-ip annotation'],
    ['port overlap', { share: 'k', ports: ['TCP/80', 'TCP/443'] }, { share: 'k', ports: ['TCP/443'] }, 'on the same port TCP/443'],
    ['Local, different backends', { share: 'k', local: true, backend: 'app=a' }, { share: 'k', ports: ['TCP/443'], backend: 'app=b' }, 'must have the same selector'],
    ['newcomer Local, different backends', { share: 'k', backend: 'app=a' }, { share: 'k', ports: ['TCP/443'], local: true, backend: 'app=b' }, 'must have the same selector'],
    ['Local, same backends', { share: 'k', local: true, backend: 'app=a' }, { share: 'k', ports: ['TCP/443'], local: true, backend: 'app=a' }, undefined],
    ['Cluster, different backends', { share: 'k', backend: 'app=a' }, { share: 'k', ports: ['TCP/443'], backend: 'app=b' }, undefined],
  ])('requested: %s', (_name, first, second, refusal) => {
    const a = new Allocator(pools);
    ipsOf(a.allocate(req('ns/first', { ...first, ips: [shared] })));
    const result = a.allocate(req('ns/second', { ...second, ips: [shared] }));
    if (refusal === undefined) {
      expect(ipsOf(result)).toEqual([shared]);
      expect(a.stats()[0]!.inUse).toBe(1);
    } else {
      expect(reasonOf(result)).toContain(`IP ${shared} is in use by ns/first`);
      expect(reasonOf(result)).toContain(refusal);
    }
  });

  test('auto-assignment joins an IP already used with the same key before taking a fresh one', () => {
    const a = new Allocator(pools);
    ipsOf(a.allocate(req('ns/lone')));
    ipsOf(a.allocate(req('ns/dns-tcp', { share: 'dns', ports: ['TCP/53'] })));
    ipsOf(a.allocate(req('ns/other')));
    expect(ipsOf(a.allocate(req('ns/dns-udp', { share: 'dns', ports: ['UDP/53'] })))).toEqual(['198.18.0.1']);
  });

  test('a shareable IP that conflicts is passed over for the next candidate or a fresh one', () => {
    const a = new Allocator(pools);
    ipsOf(a.allocate(req('ns/a', { share: 'k', ports: ['TCP/80'] })));
    ipsOf(a.allocate(req('ns/b', { share: 'k', ports: ['TCP/80'] })));
    expect(a.assigned('ns/b')).toEqual(['198.18.0.1']);
    expect(ipsOf(a.allocate(req('ns/c', { share: 'k', ports: ['TCP/443'] })))).toEqual(['198.18.0.0']);
    expect(ipsOf(a.allocate(req('ns/d', { share: 'k', ports: ['TCP/443'] })))).toEqual(['198.18.0.1']);
    expect(ipsOf(a.allocate(req('ns/e', { share: 'k', ports: ['TCP/443'] })))).toEqual(['198.18.0.2']);
  });

  test('joining respects the pool rules: not into another named pool nor an auto-assign=false pool', () => {
    const a = new Allocator([pool('m', ['198.18.1.0/30'], { autoAssign: false }), pool('x', ['198.18.0.0/30'])]);
    ipsOf(a.allocate(req('ns/a', { share: 'k', pool: 'm' })));
    expect(ipsOf(a.allocate(req('ns/b', { share: 'k', ports: ['TCP/443'] })))).toEqual(['198.18.0.0']);
    expect(ipsOf(a.allocate(req('ns/c', { share: 'k', ports: ['TCP/8080'], pool: 'm' })))).toEqual(['198.18.1.0']);
  });

  test('a shared IP is freed only when its last holder goes', () => {
    const a = new Allocator([pool('p', ['198.18.0.0/31'])]);
    ipsOf(a.allocate(req('ns/a', { share: 'k' })));
    ipsOf(a.allocate(req('ns/b', { share: 'k', ports: ['UDP/80'] })));
    a.release('ns/a');
    expect(a.stats()[0]!.inUse).toBe(1);
    expect(ipsOf(a.allocate(req('ns/c')))).toEqual(['198.18.0.1']);
    a.release('ns/b');
    expect(ipsOf(a.allocate(req('ns/d')))).toEqual(['198.18.0.0']);
  });

  test('changing its sharing key while alone on an IP re-files the IP under the new key', () => {
    const a = new Allocator(pools);
    ipsOf(a.allocate(req('ns/a', { share: 'old' })));
    expect(ipsOf(a.allocate(req('ns/a', { share: 'new' })))).toEqual(['198.18.0.0']);
    expect(ipsOf(a.allocate(req('ns/b', { share: 'new', ports: ['TCP/443'] })))).toEqual(['198.18.0.0']);
    expect(ipsOf(a.allocate(req('ns/c', { share: 'old', ports: ['TCP/8443'] })))).toEqual(['198.18.0.1']);
  });

  test('a Service whose ports now clash with its co-holder moves; the co-holder stays', () => {
    const a = new Allocator(pools);
    ipsOf(a.allocate(req('ns/a', { share: 'k', ports: ['TCP/80'] })));
    ipsOf(a.allocate(req('ns/b', { share: 'k', ports: ['TCP/81'] })));
    const moved = a.allocate(req('ns/b', { share: 'k', ports: ['TCP/80'] }));
    expect(ipsOf(moved)).toEqual(['198.18.0.1']);
    expect(moved.ok && moved.changed).toBe(true);
    expect(a.assigned('ns/a')).toEqual(['198.18.0.0']);
  });
});

describe('dual-stack', () => {
  const v4 = '198.18.0.0/30';
  const v6 = '2001:db8::/126';

  test.each<[string, string[], RequestSpec, string[] | string]>([
    ['SingleStack IPv6', [v4, v6], { families: [6] }, ['2001:db8::']],
    ['RequireDualStack', [v4, v6], { families: [4, 6], policy: 'RequireDualStack' }, ['198.18.0.0', '2001:db8::']],
    ['RequireDualStack, IPv6 primary keeps its order', [v4, v6], { families: [6, 4], policy: 'RequireDualStack' }, ['2001:db8::', '198.18.0.0']],
    ['RequireDualStack without IPv6', [v4], { families: [4, 6], policy: 'RequireDualStack' }, 'no auto-assign pool has IPv6 addresses'],
    ['PreferDualStack', [v4, v6], { families: [4, 6], policy: 'PreferDualStack' }, ['198.18.0.0', '2001:db8::']],
    ['PreferDualStack without IPv6', [v4], { families: [4, 6], policy: 'PreferDualStack' }, ['198.18.0.0']],
    ['PreferDualStack without the primary', [v6], { families: [4, 6], policy: 'PreferDualStack' }, 'no auto-assign pool has IPv4 addresses'],
    ['requested IPv6, auto IPv4', [v4, v6], { families: [4, 6], policy: 'RequireDualStack', ips: ['2001:db8::2'] }, ['198.18.0.0', '2001:db8::2']],
  ])('%s', (_name, ranges, spec, expected) => {
    const result = new Allocator([pool('p', ranges)]).allocate(req('ns/svc', spec));
    if (typeof expected === 'string') expect(reasonOf(result)).toBe(expected);
    else expect(ipsOf(result)).toEqual(expected);
  });

  test('PreferDualStack says what it could not have', () => {
    const result = new Allocator([pool('p', [v4])]).allocate(req('ns/svc', { families: [4, 6], policy: 'PreferDualStack' }));
    expect(result.ok && result.warnings).toEqual([
      'no IPv6 IP assigned (optional with PreferDualStack): no auto-assign pool has IPv6 addresses',
    ]);
  });

  test('RequireDualStack failing on one family takes nothing', () => {
    const a = new Allocator([pool('p', [v4]), pool('six', ['2001:db8::/128'])]);
    ipsOf(a.allocate(req('ns/taker', { families: [6] })));
    reasonOf(a.allocate(req('ns/svc', { families: [4, 6], policy: 'RequireDualStack' })));
    expect(a.assigned('ns/svc')).toBeUndefined();
    expect(a.stats().find((s) => s.family === 4)!.inUse).toBe(0);
  });

  test('PreferDualStack gains the missing family later without moving the first', () => {
    const a = new Allocator([pool('p', [v4])]);
    const spec: RequestSpec = { families: [4, 6], policy: 'PreferDualStack' };
    expect(ipsOf(a.allocate(req('ns/svc', spec)))).toEqual(['198.18.0.0']);
    a.setConfig([pool('p', [v4]), pool('six', [v6])]);
    expect(ipsOf(a.allocate(req('ns/svc', spec)))).toEqual(['198.18.0.0', '2001:db8::']);
  });

  test('dropping to SingleStack releases the other family', () => {
    const a = new Allocator([pool('p', [v4, v6])]);
    ipsOf(a.allocate(req('ns/svc', { families: [4, 6], policy: 'RequireDualStack' })));
    expect(ipsOf(a.allocate(req('ns/svc', { families: [4] })))).toEqual(['198.18.0.0']);
    expect(a.stats().find((s) => s.family === 6)!.inUse).toBe(0);
  });
});

describe('exhaustion and freeing', () => {
  test('a full pool fails until an address is released, then the freed lowest one is reused', () => {
    const a = new Allocator([pool('default', ['198.18.0.0/30'])]);
    for (const k of ['a', 'b', 'c', 'd']) ipsOf(a.allocate(req(`ns/${k}`, { pool: 'default' })));
    expect(reasonOf(a.allocate(req('ns/e', { pool: 'default' })))).toBe('no available IPs in pool "default" for IPv4');
    expect(a.release('ns/c')).toEqual(['198.18.0.2']);
    expect(a.release('ns/b')).toEqual(['198.18.0.1']);
    expect(ipsOf(a.allocate(req('ns/e')))).toEqual(['198.18.0.1']);
    expect(ipsOf(a.allocate(req('ns/f')))).toEqual(['198.18.0.2']);
    expect(a.stats()).toEqual([{ pool: 'default', family: 4, total: 4n, inUse: 4 }]);
  });

  test('releasing an unknown Service is a no-op', () => {
    expect(new Allocator([]).release('ns/none')).toEqual([]);
  });
});

describe('idempotency and changes', () => {
  const pools = [pool('a', ['198.18.0.0/28']), pool('b', ['198.18.1.0/28'])];

  test('allocating again returns the same IPs, unchanged', () => {
    const a = new Allocator(pools);
    ipsOf(a.allocate(req('ns/x')));
    const first = a.allocate(req('ns/y'));
    const again = a.allocate(req('ns/y'));
    expect(ipsOf(again)).toEqual(ipsOf(first));
    expect(first.ok && first.changed).toBe(true);
    expect(again.ok && again.changed).toBe(false);
  });

  test('a new requested IP moves the Service; dropping the request does not', () => {
    const a = new Allocator(pools);
    ipsOf(a.allocate(req('ns/x')));
    expect(ipsOf(a.allocate(req('ns/x', { ips: ['198.18.0.9'] })))).toEqual(['198.18.0.9']);
    expect(ipsOf(a.allocate(req('ns/x')))).toEqual(['198.18.0.9']);
    expect(ipsOf(a.allocate(req('ns/y')))).toEqual(['198.18.0.0']);
  });

  test('a changed pool annotation moves the Service into that pool', () => {
    const a = new Allocator(pools);
    ipsOf(a.allocate(req('ns/x')));
    expect(ipsOf(a.allocate(req('ns/x', { pool: 'b' })))).toEqual(['198.18.1.0']);
    expect(ipsOf(a.allocate(req('ns/x', { pool: 'b' })))).toEqual(['198.18.1.0']);
    expect(ipsOf(a.allocate(req('ns/y')))).toEqual(['198.18.0.0']);
  });

  test('a failed allocation leaves what the Service held', () => {
    const a = new Allocator(pools);
    ipsOf(a.allocate(req('ns/x')));
    ipsOf(a.allocate(req('ns/y', { ips: ['198.18.1.5'] })));
    expect(reasonOf(a.allocate(req('ns/x', { ips: ['198.18.1.5'] })))).toContain('is in use by ns/y');
    expect(a.assigned('ns/x')).toEqual(['198.18.0.0']);
  });

  test('assignments carry family and pool; keys lists holders', () => {
    const a = new Allocator(pools);
    ipsOf(a.allocate(req('ns/z', { pool: 'b' })));
    ipsOf(a.allocate(req('ns/x')));
    expect(a.assignments('ns/z')).toEqual([{ family: 4, ip: '198.18.1.0', pool: 'b' }]);
    expect(a.keys()).toEqual(['ns/x', 'ns/z']);
  });
});

describe('restore', () => {
  const pools = [pool('default', ['198.18.0.0/28']), pool('other', ['198.18.1.0/28'])];

  test('claims status IPs as they are, then new Services take the lowest free around them', () => {
    const a = new Allocator(pools);
    expect(a.restore(req('ns/x'), ['198.18.0.1']).ok).toBe(true);
    expect(a.restore(req('ns/y'), ['198.18.0.3']).ok).toBe(true);
    expect(ipsOf(a.allocate(req('ns/new1')))).toEqual(['198.18.0.0']);
    expect(ipsOf(a.allocate(req('ns/new2')))).toEqual(['198.18.0.2']);
    expect(ipsOf(a.allocate(req('ns/new3')))).toEqual(['198.18.0.4']);
  });

  test('restore then allocate never moves an IP, even one in the wrong or no pool', () => {
    const a = new Allocator(pools);
    const outside = a.restore(req('ns/gone'), ['198.18.7.7']);
    expect(outside.ok).toBe(true);
    expect(outside.warnings).toEqual(['IP 198.18.7.7 is outside every pool; kept so that it does not move']);
    const wrongPool = a.restore(req('ns/moved', { pool: 'default' }), ['198.18.1.4']);
    expect(wrongPool.warnings[0]).toContain('is in pool "other", not the requested "default"');
    a.restore(req('ns/manual'), ['198.18.0.9']);
    a.restore(req('ns/dual', { families: [4, 6], policy: 'RequireDualStack' }), ['2001:db8::5', '198.18.0.12']);

    const outsideAgain = a.allocate(req('ns/gone'));
    expect(ipsOf(outsideAgain)).toEqual(['198.18.7.7']);
    expect(outsideAgain.ok && outsideAgain.changed).toBe(false);
    expect(outsideAgain.ok && outsideAgain.assignments[0]!.pool).toBeUndefined();
    expect(ipsOf(a.allocate(req('ns/moved', { pool: 'default' })))).toEqual(['198.18.1.4']);
    expect(ipsOf(a.allocate(req('ns/manual')))).toEqual(['198.18.0.9']);
    // Status order does not matter: the result follows the family order.
    expect(ipsOf(a.allocate(req('ns/dual', { families: [4, 6], policy: 'RequireDualStack' })))).toEqual(['198.18.0.12', '2001:db8::5']);
  });

  test('two Services claiming one IP: the first restored keeps it, the second gets a conflict', () => {
    for (const [first, second] of [
      ['ns/a', 'ns/b'],
      ['ns/b', 'ns/a'],
    ] as const) {
      const a = new Allocator(pools);
      expect(a.restore(req(first), ['198.18.0.5']).ok).toBe(true);
      const clash = a.restore(req(second), ['198.18.0.5']);
      expect(clash.ok).toBe(false);
      expect(!clash.ok && clash.reason).toContain(`IP 198.18.0.5 is in use by ${first}`);
      expect(clash.ips).toEqual([]);
      expect(a.assigned(first)).toEqual(['198.18.0.5']);
      expect(ipsOf(a.allocate(req(second)))).toEqual(['198.18.0.0']);
    }
  });

  test('Services that may share restore onto one IP', () => {
    const a = new Allocator(pools);
    a.restore(req('ns/tcp', { share: 'dns', ports: ['TCP/53'] }), ['198.18.0.5']);
    expect(a.restore(req('ns/udp', { share: 'dns', ports: ['UDP/53'] }), ['198.18.0.5']).ok).toBe(true);
    expect(a.stats()[0]!.inUse).toBe(1);
  });

  test('garbage and duplicates in the status are reported, the rest is kept', () => {
    const a = new Allocator(pools);
    const result = a.restore(req('ns/x', { families: [4, 6], policy: 'RequireDualStack' }), [
      'not-an-ip',
      '198.18.0.2',
      '198.18.0.3',
      '2001:db8::1',
    ]);
    expect(result.ok).toBe(false);
    expect(result.ips).toEqual(['198.18.0.2', '2001:db8::1']);
    expect(result.conflicts.map((c) => c.reason)).toEqual([
      '"not-an-ip" in the Service status is not an IP address',
      'more than one IPv4 address in the Service status; keeping 198.18.0.2',
    ]);
  });

  test('restoring a Service again replaces what it held', () => {
    const a = new Allocator(pools);
    a.restore(req('ns/x'), ['198.18.0.2']);
    a.restore(req('ns/x'), ['198.18.0.3']);
    expect(a.assigned('ns/x')).toEqual(['198.18.0.3']);
    expect(a.stats()[0]!.inUse).toBe(1);
  });

  test('restored IPs of a family the Service no longer has are dropped by allocate', () => {
    const a = new Allocator([pool('p', ['198.18.0.0/28', '2001:db8::/124'])]);
    a.restore(req('ns/x'), ['198.18.0.4', '2001:db8::4']);
    expect(ipsOf(a.allocate(req('ns/x')))).toEqual(['198.18.0.4']);
    expect(a.stats().find((s) => s.family === 6)!.inUse).toBe(0);
  });
});

describe('config changes', () => {
  test('IPs that left every pool stay with their Services and are listed', () => {
    const a = new Allocator([pool('old', ['198.18.0.0/30']), pool('keep', ['198.18.1.0/30'])]);
    ipsOf(a.allocate(req('ns/b', { pool: 'old' })));
    ipsOf(a.allocate(req('ns/a', { pool: 'old' })));
    ipsOf(a.allocate(req('ns/c', { pool: 'keep' })));
    const orphans = a.setConfig([pool('keep', ['198.18.1.0/30']), pool('new', ['198.18.2.0/30'])]);
    expect(orphans).toEqual([
      { key: 'ns/a', family: 4, ip: '198.18.0.1' },
      { key: 'ns/b', family: 4, ip: '198.18.0.0' },
    ]);
    // Still held: the pool annotation did not change, so nothing moves.
    const b = a.allocate(req('ns/b', { pool: 'old' }));
    expect(reasonOf(a.allocate(req('ns/z', { pool: 'old' })))).toBe('unknown address pool "old"');
    expect(ipsOf(b)).toEqual(['198.18.0.0']);
    expect(b.ok && b.warnings).toEqual([
      'IP 198.18.0.0 is outside every pool; kept so that it does not move',
      'address pool "old" does not exist; the IPs already held are kept',
    ]);
    expect(ipsOf(a.allocate(req('ns/a')))).toEqual(['198.18.0.1']);
    expect(a.stats()).toEqual([
      { pool: 'keep', family: 4, total: 4n, inUse: 1 },
      { pool: 'new', family: 4, total: 4n, inUse: 0 },
    ]);
    expect(a.orphans()).toHaveLength(2);
  });

  test('an address back in a pool is counted and, once released, handed out again', () => {
    const a = new Allocator([pool('p', ['198.18.0.0/30'])]);
    ipsOf(a.allocate(req('ns/a')));
    a.setConfig([]);
    expect(a.stats()).toEqual([]);
    a.setConfig([pool('q', ['198.18.0.0/29'])]);
    expect(a.stats()).toEqual([{ pool: 'q', family: 4, total: 8n, inUse: 1 }]);
    expect(ipsOf(a.allocate(req('ns/b')))).toEqual(['198.18.0.1']);
    a.release('ns/a');
    expect(ipsOf(a.allocate(req('ns/c')))).toEqual(['198.18.0.0']);
  });

  test('a range moved to another pool does not move the IPs in it', () => {
    const a = new Allocator([pool('x', ['198.18.0.0/30']), pool('y', ['198.18.1.0/30'])]);
    ipsOf(a.allocate(req('ns/a', { pool: 'x' })));
    a.setConfig([pool('x', ['198.18.1.0/30']), pool('y', ['198.18.0.0/30'])]);
    const again = a.allocate(req('ns/a', { pool: 'x' }));
    expect(ipsOf(again)).toEqual(['198.18.0.0']);
    expect(again.ok && again.assignments[0]!.pool).toBe('y');
  });

  test('accepts a PoolConfig as well as a pool list', () => {
    const a = new Allocator({ pools: [pool('p', ['198.18.0.0/31'])] });
    expect(a.stats()).toEqual([{ pool: 'p', family: 4, total: 2n, inUse: 0 }]);
  });
});

describe('IPv6', () => {
  test('a /64 pool: totals in bigint, lowest-first, freed addresses reused', () => {
    const a = new Allocator([pool('v6', ['2001:db8:1::/64'])]);
    expect(a.stats()).toEqual([{ pool: 'v6', family: 6, total: 1n << 64n, inUse: 0 }]);
    const got = [];
    for (let i = 0; i < 300; i++) got.push(ipsOf(a.allocate(req(`ns/s${i}`, { families: [6] })))[0]);
    expect(got[0]).toBe('2001:db8:1::');
    expect(got[299]).toBe('2001:db8:1::12b');
    a.release('ns/s17');
    expect(ipsOf(a.allocate(req('ns/again', { families: [6] })))).toEqual(['2001:db8:1::11']);
    expect(a.stats()[0]!.inUse).toBe(300);
  });

  test('requested IPv6 in canonical form; the top of a /64 is reachable', () => {
    const a = new Allocator([pool('v6', ['2001:db8:1::/64'])]);
    expect(ipsOf(a.allocate(req('ns/top', { families: [6], ips: ['2001:db8:1:0:ffff:ffff:ffff:ffff'] })))).toEqual([
      '2001:db8:1:0:ffff:ffff:ffff:ffff',
    ]);
    expect(reasonOf(a.allocate(req('ns/out', { families: [6], ips: ['2001:db8:1:1::'] })))).toBe(
      'requested IP 2001:db8:1:1:: is not in any pool',
    );
  });

  test('IPv4 and IPv6 addresses with the same numeric value are distinct', () => {
    const a = new Allocator([pool('p', ['0.0.0.0/30', '::/126'])]);
    expect(ipsOf(a.allocate(req('ns/four')))).toEqual(['0.0.0.0']);
    expect(ipsOf(a.allocate(req('ns/six', { families: [6] })))).toEqual(['::']);
  });
});
