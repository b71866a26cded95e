import { describe, expect, it } from 'vitest';
import { conntrackFilter, staleUdpFlows, type UdpPortFlows } from '../../../../src/proxy/kernel/stale-udp-flows.ts';

const port = (endpoints: string[], forwarded = endpoints.length > 0, ip = '198.18.0.10'): UdpPortFlows => ({
  ip,
  port: 53,
  forwarded,
  endpoints: endpoints.map((e) => {
    const i = e.lastIndexOf(':');
    return { ip: e.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(e.slice(i + 1)) };
  }),
});
const K = 'UDP 198.18.0.10:53';

describe('staleUdpFlows', () => {
  it('a first apply deletes the flows answered by the Service IP itself on every forwarded port, and nothing else', () => {
    const after = new Map([
      [K, port(['198.18.1.1:5353'])],
      ['UDP 198.18.0.11:53', port([], false, '198.18.0.11')],
    ]);
    expect(staleUdpFlows(undefined, after)).toEqual([{ ip: '198.18.0.10', port: 53, answeredBy: { ip: '198.18.0.10', port: 53 }, why: 'first endpoint' }]);
  });

  it('nothing changed: nothing to delete', () => {
    const m = new Map([[K, port(['198.18.1.1:5353', '198.18.1.2:5353'])]]);
    expect(staleUdpFlows(m, new Map(m))).toEqual([]);
  });

  it('an endpoint that is gone loses its flows; the ones that stay, and new ones, keep theirs', () => {
    const before = new Map([[K, port(['198.18.1.1:5353', '198.18.1.2:5353'])]]);
    const after = new Map([[K, port(['198.18.1.2:5353', '198.18.1.3:5353'])]]);
    expect(staleUdpFlows(before, after)).toEqual([{ ip: '198.18.0.10', port: 53, answeredBy: { ip: '198.18.1.1', port: 5353 }, why: 'endpoint gone' }]);
  });

  it('the same address on another target port is another endpoint', () => {
    const before = new Map([[K, port(['198.18.1.1:5353'])]]);
    const after = new Map([[K, port(['198.18.1.1:5354'])]]);
    expect(staleUdpFlows(before, after).map((s) => s.answeredBy)).toEqual([{ ip: '198.18.1.1', port: 5353 }]);
  });

  it('a port that loses its last endpoint, or leaves the node, loses the flows of all of them', () => {
    const before = new Map([[K, port(['198.18.1.1:5353', '198.18.1.2:5353'])]]);
    expect(staleUdpFlows(before, new Map([[K, port([])]])).map((s) => s.answeredBy.ip)).toEqual(['198.18.1.1', '198.18.1.2']);
    expect(staleUdpFlows(before, new Map()).map((s) => s.answeredBy.ip)).toEqual(['198.18.1.1', '198.18.1.2']);
  });

  it('a port that gets its first endpoint loses the flows that reached the node while it had none', () => {
    const before = new Map([[K, port([])]]);
    const after = new Map([[K, port(['198.18.1.1:5353'])]]);
    expect(staleUdpFlows(before, after)).toEqual([{ ip: '198.18.0.10', port: 53, answeredBy: { ip: '198.18.0.10', port: 53 }, why: 'first endpoint' }]);
  });

  it('an endpoint of the other family had no rule and gets no delete', () => {
    const before = new Map([[K, port(['198.18.1.1:5353', '[2001:db8::1]:5353'])]]);
    expect(staleUdpFlows(before, new Map([[K, port([])]])).map((s) => s.answeredBy.ip)).toEqual(['198.18.1.1']);
  });
});

describe('conntrackFilter', () => {
  it('IPv4: UDP to the Service IP:port, answered by the endpoint', () => {
    expect(conntrackFilter({ ip: '198.18.0.10', port: 53, answeredBy: { ip: '198.18.1.1', port: 5353 }, why: 'endpoint gone' })).toEqual([
      '-p', 'udp', '--orig-dst', '198.18.0.10', '--orig-port-dst', '53', '--reply-src', '198.18.1.1', '--reply-port-src', '5353',
    ]);
  });

  it('IPv6: the same filter with IPv6 addresses', () => {
    expect(conntrackFilter({ ip: '2001:db8::10', port: 53, answeredBy: { ip: '2001:db8::10', port: 53 }, why: 'first endpoint' })).toEqual([
      '-p', 'udp', '--orig-dst', '2001:db8::10', '--orig-port-dst', '53', '--reply-src', '2001:db8::10', '--reply-port-src', '53',
    ]);
  });
});
