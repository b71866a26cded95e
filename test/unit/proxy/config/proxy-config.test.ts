// ProxyConfigState folds updates into the whole configuration: a snapshot
// replayed into a fresh state (a worker's first message) gives the same
// configuration; `reset` forgets what it does not name; the dump for
// people names certificates but never carries a key. EndpointSlots swaps a
// Service's sets into the slots its holders keep.
import { describe, expect, test } from 'vitest';
import { ProxyConfigState, type ProxyConfigUpdate } from '../../../../src/proxy/config/proxy-config.ts';
import type { EndpointSet } from '../../../../src/proxy/endpoints/endpoint-set.ts';
import { EndpointSlots } from '../../../../src/proxy/endpoints/endpoint-slots.ts';
import type { ListenerSpec } from '../../../../src/proxy/listeners/listen-plan.ts';

const set = (service: string, ip: string): EndpointSet => ({
  service,
  portName: 'http',
  protocol: 'TCP',
  active: [{ key: `${ip}:8080`, ip, port: 8080, nodeName: 'n1', podName: 'p', ready: true, serving: true, terminating: false }],
  draining: [],
  fallback: false,
  localOnly: false,
  affinityTimeoutMs: undefined,
});
const listener = (ip: string): ListenerSpec => ({ key: `TCP ${ip}:80`, ip, port: 80, protocol: 'TCP', service: 'ns/a', serviceUid: 'u', portName: 'http', mode: 'l4', l4: {} as ListenerSpec['l4'] });
const PEM = { cert: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n', key: '-----BEGIN PRIVATE KEY-----\nKEYMATERIAL\n-----END PRIVATE KEY-----\n' };

describe('ProxyConfigState', () => {
  test('updates fold into one configuration; its snapshot rebuilds it elsewhere', () => {
    const s = new ProxyConfigState();
    const updates: ProxyConfigUpdate[] = [
      { version: 1, listeners: [listener('198.18.0.200')] },
      { version: 2, endpoints: { 'ns/a': { http: set('ns/a', '198.18.101.1') }, 'ns/b': { http: set('ns/b', '198.18.101.2') } } },
      { version: 3, endpoints: { 'ns/b': null }, certificates: { set: { 'ns/tls': PEM } } },
      { version: 4, routes: { web: { reset: [{ kind: 'ingress', id: 'r1', source: 'ingress', host: 'a.example', target: { routeName: 'r1' } }] }, websecure: {}, defaultTarget: null } },
    ];
    for (const u of updates) s.apply(u);
    expect(s.version).toBe(4);
    expect(s.next()).toBe(5);
    const copy = new ProxyConfigState();
    copy.apply(JSON.parse(JSON.stringify(s.snapshot())) as ProxyConfigUpdate);
    expect(copy.dump()).toEqual(s.dump());
    expect(Object.keys(s.dump().endpoints as object)).toEqual(['ns/a']);
  });

  test('reset forgets what it does not name', () => {
    const s = new ProxyConfigState();
    s.apply({ version: 1, listeners: [listener('198.18.0.200')], endpoints: { 'ns/a': { http: set('ns/a', '198.18.101.1') } }, certificates: { set: { 'ns/tls': PEM } } });
    s.apply({ version: 2, reset: true, listeners: [] });
    expect(s.dump()).toMatchObject({ version: 2, listeners: [], endpoints: {}, certificates: { secrets: [] } });
  });

  test('the dump names certificates, never their keys', () => {
    const s = new ProxyConfigState();
    s.apply({ version: 1, certificates: { set: { 'ns/tls': PEM }, default: PEM } });
    const text = JSON.stringify(s.dump());
    expect(text).toContain('ns/tls');
    expect(text).not.toContain('KEYMATERIAL');
    expect(text).not.toContain('PRIVATE KEY');
    expect(JSON.stringify(s.snapshot())).toContain('PRIVATE KEY'); // what workers need
  });

  test("nor the key of a client certificate a route shows its backend (proxy-ssl-secret)", () => {
    const s = new ProxyConfigState();
    const target = { routeName: 'r1', service: { kind: 'leaf', options: { protocol: 'https', tls: { verify: true, cert: PEM.cert, key: PEM.key } } } };
    s.apply({ version: 1, routes: { web: { reset: [{ kind: 'ingress', id: 'r1', source: 'ingress', host: 'a.example', target } as never] }, websecure: {}, defaultTarget: null } });
    const text = JSON.stringify(s.dump());
    expect(text).not.toContain('KEYMATERIAL');
    expect(text).toContain('BEGIN CERTIFICATE');
    expect(JSON.stringify(s.snapshot())).toContain('KEYMATERIAL');
  });
});

describe('EndpointSlots', () => {
  test("a Service's new sets reach the slots held; an unchanged set is not swapped; a gone Service empties them", () => {
    const slots = new EndpointSlots();
    const slot = slots.slot('ns/a', 'http');
    expect(slot.current.active).toEqual([]);
    expect(slots.setService('ns/a', { http: set('ns/a', '198.18.101.1') })).toBe(true);
    expect(slot.current.active.map((e) => e.ip)).toEqual(['198.18.101.1']);
    const v = slot.version;
    expect(slots.setService('ns/a', { http: set('ns/a', '198.18.101.1') })).toBe(false);
    expect(slot.version).toBe(v);
    expect(slots.setService('ns/a', undefined)).toBe(true);
    expect(slot.current.active).toEqual([]);
    slots.releaseSlot('ns/a', 'http');
    expect(slots.slotCount).toBe(0);
  });

  test('a port named after an Object property is a port like any other', () => {
    // Port names are DNS labels: `constructor` is one.
    const slots = new EndpointSlots();
    const named = slots.slot('ns/a', 'constructor');
    const absent = slots.slot('ns/b', 'constructor');
    expect(slots.setService('ns/a', { constructor: set('ns/a', '198.18.101.1') })).toBe(true);
    expect(slots.setService('ns/b', { http: set('ns/b', '198.18.101.2') })).toBe(false);
    expect(named.current.active.map((e) => e.ip)).toEqual(['198.18.101.1']);
    expect(absent.current.active).toEqual([]);
    expect(slots.endpoints('ns/b', 'constructor').active).toEqual([]);
    expect(slots.endpoints('ns/b', 'hasOwnProperty').active).toEqual([]);
  });
});
