import { describe, expect, test } from 'vitest';
import { buildNftScript, forwardsPort, nftDeleteScript, type KernelPort } from '../../../../src/proxy/kernel/nft-script.ts';

const web = (over: Partial<KernelPort> = {}): KernelPort => ({
  key: 'TCP 198.18.0.200:80',
  ip: '198.18.0.200',
  port: 80,
  protocol: 'TCP',
  service: 'lab/web',
  portName: 'http',
  endpoints: [
    { ip: '198.18.1.5', port: 8080 },
    { ip: '198.18.1.6', port: 8080 },
  ],
  masquerade: true,
  affinitySeconds: undefined,
  ...over,
});

const dns: KernelPort = {
  key: 'UDP [2001:db8::200]:53',
  ip: '2001:db8::200',
  port: 53,
  protocol: 'UDP',
  service: 'lab/dns',
  portName: '',
  endpoints: [{ ip: '2001:db8::5', port: 5353 }],
  masquerade: false,
  affinitySeconds: undefined,
};

const lines = (script: string): string[] => script.trimEnd().split('\n');
const T = 'inet metalgate';

describe('buildNftScript', () => {
  test('loadBalancerSourceRanges: a filter chain before the DNAT drops other clients, by the Service IP\'s family; none of that family drops all', () => {
    const r = buildNftScript([web({ sourceRanges: ['198.18.1.0/24', '2001:db8::/32', '198.19.0.0/16'] }), { ...dns, sourceRanges: ['198.18.1.0/24'] }, web({ key: 'TCP 198.18.0.201:80', ip: '198.18.0.201' })], undefined);
    const l = lines(r.script);
    expect(l).toContain(`add chain ${T} firewall-prerouting { type filter hook prerouting priority -110; policy accept; }`);
    expect(l).toContain(`add chain ${T} firewall-output { type filter hook output priority -110; policy accept; }`);
    expect(l).toContain(`add rule ${T} firewall-prerouting jump firewall`);
    expect(l).toContain(`add rule ${T} firewall-output jump firewall`);
    expect(l.filter((x) => x.startsWith(`add rule ${T} firewall `))).toEqual([
      `add rule ${T} firewall ip daddr 198.18.0.200 tcp dport 80 ip saddr != { 198.18.1.0/24, 198.19.0.0/16 } drop`,
      `add rule ${T} firewall ip6 daddr 2001:db8::200 udp dport 53 drop`,
    ]);
    // Every apply starts the chains afresh; without ranges nothing jumps to the firewall.
    const next = lines(buildNftScript([web()], r.state).script);
    expect(next).toContain(`flush chain ${T} firewall`);
    expect(next.filter((x) => x.includes('jump firewall'))).toEqual([]);
  });

  test('a port without endpoints keeps its source ranges (its packets reach the node itself otherwise)', () => {
    const r = buildNftScript([web({ endpoints: [], sourceRanges: ['198.18.1.0/24'] })], undefined);
    expect(r.forwarded).toEqual([]);
    expect(r.script).toContain('firewall ip daddr 198.18.0.200 tcp dport 80 ip saddr != { 198.18.1.0/24 } drop');
  });

  test('counters: one per Service port (its IPv4 and IPv6 rules share it), kept across updates, deleted when no port uses it', () => {
    const web6 = web({ key: 'TCP [2001:db8::200]:80', ip: '2001:db8::200', endpoints: [{ ip: '2001:db8::5', port: 8080 }] });
    const first = buildNftScript([web(), web6, dns], undefined);
    expect(first.state.counters).toHaveLength(2);
    const webCounter = first.counters.find((c) => c.service === 'lab/web')!.name;
    expect(lines(first.script).filter((x) => x.includes(`counter name ${webCounter} `))).toHaveLength(2);
    const next = buildNftScript([web({ endpoints: [{ ip: '198.18.1.9', port: 8080 }] })], first.state);
    const l = lines(next.script);
    expect(next.state.counters).toEqual([webCounter]);
    expect(l).not.toContain(`add counter ${T} ${webCounter}`);
    const dnsCounter = first.counters.find((c) => c.service === 'lab/dns')!.name;
    expect(l).toContain(`delete counter ${T} ${dnsCounter}`);
    // Deleted only after the dispatch chain that used it is flushed.
    expect(l.indexOf(`flush chain ${T} services`)).toBeLessThan(l.indexOf(`delete counter ${T} ${dnsCounter}`));
  });

  test('a first apply deletes the table and writes it whole: hooks, dispatch, a random pick, one DNAT chain per endpoint, masquerade', () => {
    const r = buildNftScript([web()], undefined);
    const l = lines(r.script);
    expect(l.slice(0, 3)).toEqual([`add table ${T}`, `delete table ${T}`, `add table ${T}`]);
    expect(l).toContain(`add chain ${T} prerouting { type nat hook prerouting priority -100; policy accept; }`);
    expect(l).toContain(`add chain ${T} output { type nat hook output priority -100; policy accept; }`);
    expect(l).toContain(`add chain ${T} postrouting { type nat hook postrouting priority 100; policy accept; }`);
    expect(l).toContain(`add rule ${T} prerouting jump services`);
    expect(l).toContain(`add rule ${T} output jump services`);
    const svc = r.state.chains.find((c) => c.startsWith('svc-'))!;
    const eps = r.state.chains.filter((c) => c.startsWith('ep-'));
    expect(eps).toHaveLength(2);
    const [counter] = r.state.counters;
    expect(r.counters).toEqual([{ name: counter, service: 'lab/web', port: 'http', protocol: 'TCP' }]);
    expect(l).toContain(`add counter ${T} ${counter}`);
    expect(l).toContain(`add rule ${T} services ip daddr 198.18.0.200 tcp dport 80 counter name ${counter} goto ${svc} comment "lab/web:http TCP 198.18.0.200:80"`);
    expect(l).toContain(`add rule ${T} ${svc} numgen random mod 2 vmap { 0 : goto ${eps[0]}, 1 : goto ${eps[1]} }`);
    expect(l).toContain(`add rule ${T} ${eps[0]} meta l4proto tcp dnat ip to 198.18.1.5:8080`);
    expect(l).toContain(`add rule ${T} ${eps[1]} meta l4proto tcp dnat ip to 198.18.1.6:8080`);
    expect(l).toContain(`add rule ${T} postrouting oifname != "lo" ct status dnat ct original ip daddr 198.18.0.200 meta l4proto tcp ct original proto-dst 80 masquerade`);
    expect(r.forwarded).toEqual(['TCP 198.18.0.200:80']);
    expect(r.state.sets).toEqual([]);
  });

  test('IPv6 UDP with externalTrafficPolicy Local: ip6 matches, a bracketed DNAT target, masquerade only for a pod sent to itself (hairpin)', () => {
    const r = buildNftScript([dns], undefined);
    expect(r.script).toMatch(/services ip6 daddr 2001:db8::200 udp dport 53 counter name cnt-[0-9a-f]{12} goto svc-[0-9a-f]{12} comment "lab\/dns:53 UDP \[2001:db8::200\]:53"/);
    // An unnamed port is labelled by its number, as the user-space forwarder's metrics are.
    expect(r.counters.map((c) => c.port)).toEqual(['53']);
    expect(r.script).toMatch(/ep-[0-9a-f]{12} meta l4proto udp dnat ip6 to \[2001:db8::5\]:5353/);
    expect(lines(r.script).filter((x) => x.includes('masquerade'))).toEqual([
      `add rule ${T} postrouting oifname != "lo" ct status dnat ct original ip6 daddr 2001:db8::200 ip6 saddr 2001:db8::5 ip6 daddr 2001:db8::5 masquerade`,
    ]);
    // Two ports of one Service IP to the same endpoint share the hairpin rule.
    const two = buildNftScript([dns, { ...dns, key: 'UDP [2001:db8::200]:54', port: 54 }], undefined);
    expect(lines(two.script).filter((x) => x.includes('masquerade'))).toHaveLength(1);
  });

  test('endpoints of the other family or malformed are left out and reported; a port with none gets no rule', () => {
    const r = buildNftScript(
      [
        web({ endpoints: [{ ip: '2001:db8::9', port: 80 }, { ip: 'not-an-ip', port: 80 }, { ip: '198.18.1.7', port: 0 }] }),
        { ...dns, endpoints: [] },
      ],
      undefined,
    );
    expect(r.forwarded).toEqual([]);
    expect(r.script).not.toContain('goto svc-');
    expect(r.script).not.toContain('dnat');
    expect(r.skipped.map((s) => [s.endpoint, s.why])).toEqual([
      ['[2001:db8::9]:80', 'not an IPv4 address like the Service IP'],
      ['not-an-ip:80', 'not an IP address and port'],
      ['198.18.1.7:0', 'not an IP address and port'],
    ]);
  });

  test('forwardsPort says which ports a script forwards: one usable endpoint at least, on a valid IP and port', () => {
    const ports = [
      web(),
      web({ key: 'TCP 198.18.0.201:80', ip: '198.18.0.201', endpoints: [] }),
      web({ key: 'TCP 198.18.0.202:80', ip: '198.18.0.202', endpoints: [{ ip: '2001:db8::9', port: 80 }, { ip: '198.18.1.7', port: 0 }] }),
      web({ key: 'TCP 198.18.0.203:0', ip: '198.18.0.203', port: 0 }),
      dns,
    ];
    expect(ports.filter(forwardsPort).map((p) => p.key)).toEqual(buildNftScript(ports, undefined).forwarded);
    expect(ports.filter(forwardsPort).map((p) => p.key)).toEqual(['TCP 198.18.0.200:80', 'UDP [2001:db8::200]:53']);
  });

  test('ClientIP affinity: one timed set per endpoint, looked up before the random pick and refreshed on the way to the endpoint', () => {
    const r = buildNftScript([web({ affinitySeconds: 600 })], undefined);
    expect(r.state.sets).toHaveLength(2);
    const [s0, s1] = r.state.sets;
    const svc = r.state.chains.find((c) => c.startsWith('svc-'))!;
    const eps = r.state.chains.filter((c) => c.startsWith('ep-'));
    const l = lines(r.script);
    expect(l).toContain(`add set ${T} ${s0} { type ipv4_addr; flags dynamic,timeout; timeout 600s; }`);
    const lookup0 = l.indexOf(`add rule ${T} ${svc} ip saddr @${s0} goto ${eps[0]}`);
    const lookup1 = l.indexOf(`add rule ${T} ${svc} ip saddr @${s1} goto ${eps[1]}`);
    const pick = l.findIndex((x) => x.startsWith(`add rule ${T} ${svc} numgen`));
    expect(lookup0).toBeGreaterThan(0);
    expect(lookup1).toBeGreaterThan(lookup0);
    expect(pick).toBeGreaterThan(lookup1);
    expect(l).toContain(`add rule ${T} ${eps[0]} update @${s0} { ip saddr } meta l4proto tcp dnat ip to 198.18.1.5:8080`);
  });

  test('an update keeps names, flushes the old chains, deletes what is gone and keeps affinity sets that are still wanted', () => {
    const first = buildNftScript([web({ affinitySeconds: 600 }), dns], undefined);
    const next = buildNftScript([web({ affinitySeconds: 600, endpoints: [{ ip: '198.18.1.6', port: 8080 }] })], first.state);
    const l = lines(next.script);
    expect(l).not.toContain(`delete table ${T}`);
    for (const c of first.state.chains) expect(l).toContain(`flush chain ${T} ${c}`);
    const gone = first.state.chains.filter((c) => !next.state.chains.includes(c));
    expect(gone).toHaveLength(3); // the endpoint 198.18.1.5, and dns's service and endpoint chains
    for (const c of gone) expect(l).toContain(`delete chain ${T} ${c}`);
    // Flushes come before deletes: nothing refers to a chain when it goes.
    expect(Math.max(...first.state.chains.map((c) => l.indexOf(`flush chain ${T} ${c}`)))).toBeLessThan(Math.min(...gone.map((c) => l.indexOf(`delete chain ${T} ${c}`))));
    const keptSet = first.state.sets[1]!; // 198.18.1.6's
    expect(next.state.sets).toEqual([keptSet]);
    expect(l).toContain(`delete set ${T} ${first.state.sets[0]}`);
    expect(l.some((x) => x.startsWith(`add set ${T} ${keptSet}`))).toBe(false);
    expect(next.state.chains.every((c) => first.state.chains.includes(c))).toBe(true);
  });

  test('a changed affinity timeout is a new set, never an add over the old one', () => {
    const first = buildNftScript([web({ affinitySeconds: 600 })], undefined);
    const next = buildNftScript([web({ affinitySeconds: 60 })], first.state);
    expect(next.state.sets.some((s) => first.state.sets.includes(s))).toBe(false);
    for (const s of first.state.sets) expect(next.script).toContain(`delete set ${T} ${s}`);
    expect(next.script).toContain('timeout 60s;');
  });

  test('the same ports in another order give the same script; the same inputs after an apply give the same update', () => {
    const a = buildNftScript([web(), dns], undefined);
    const b = buildNftScript([dns, web()], undefined);
    expect(a.script).toBe(b.script);
    expect(buildNftScript([web(), dns], a.state).script).toBe(buildNftScript([dns, web()], b.state).script);
  });

  test('comments cannot end their quotes', () => {
    const r = buildNftScript([web({ service: 'lab/we"b;drop', portName: 'x\ny' })], undefined);
    expect(r.script).toContain('comment "lab/we_b_drop:x_y TCP 198.18.0.200:80"');
    expect(lines(r.script).every((x) => !x.includes('\r'))).toBe(true);
  });

  test('nftDeleteScript adds before deleting, so a missing table is no error', () => {
    expect(nftDeleteScript()).toBe(`add table ${T}\ndelete table ${T}\n`);
  });
});
