// ServersTransport -> BackendTls and timeouts, as Traefik documents the fields.
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { MapClusterView } from '../../../../src/ingress/translate/cluster-view.ts';
import { transportSettings } from '../../../../src/ingress/translate/servers-transport.ts';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const b64 = (t: string) => Buffer.from(t).toString('base64');
const view = new MapClusterView({
  secrets: new Map<string, V1Secret>([
    ['ns/ca', { metadata: { namespace: 'ns', name: 'ca' }, data: { 'ca.crt': b64(PEM) } }],
    ['ns/client', { metadata: { namespace: 'ns', name: 'client' }, data: { 'tls.crt': b64(PEM), 'tls.key': b64('KEY') } }],
  ]),
  configMaps: new Map<string, V1ConfigMap>([
    ['ns/ca-bundle', { metadata: { namespace: 'ns', name: 'ca-bundle' }, data: { 'ca.crt': PEM } }],
    ['ns/notes', { metadata: { namespace: 'ns', name: 'notes' }, data: { 'tls.ca': 'not a certificate' } }],
  ]),
});
const st = (spec: Record<string, unknown>) => transportSettings({ metadata: { namespace: 'ns', name: 't' }, spec }, view);

describe('ServersTransport', () => {
  test('verified by default; serverName is the SNI and the name checked', () => {
    expect(st({})).toEqual({ ok: true, value: { tls: { verify: true }, warnings: [] } });
    expect(st({ serverName: 'api.internal', rootCAs: [{ secret: 'ca' }], certificatesSecrets: ['client'] })).toEqual({
      ok: true,
      value: { tls: { servername: 'api.internal', checkName: 'api.internal', verify: true, ca: PEM, cert: PEM, key: 'KEY' }, warnings: [] },
    });
    // Traefik 3.2+: CA bundles from ConfigMaps too (cert-manager's trust-manager writes them there), beside Secrets.
    expect(st({ rootCAs: [{ secret: 'ca' }, { configMap: 'ca-bundle' }] })).toEqual({ ok: true, value: { tls: { verify: true, ca: `${PEM}\n${PEM}` }, warnings: [] } });
    expect(st({ insecureSkipVerify: true, serverName: 'x' })).toEqual({ ok: true, value: { tls: { servername: 'x' }, warnings: [] } });
  });

  test('forwarding timeouts: dial and response header; others warned', () => {
    const r = st({ forwardingTimeouts: { dialTimeout: '3s', responseHeaderTimeout: 42, idleConnTimeout: '90s' }, maxIdleConnsPerHost: 10 });
    expect(r.ok && r.value.connectTimeoutMs).toBe(3000);
    expect(r.ok && r.value.readTimeoutMs).toBe(42_000);
    expect(r.ok && r.value.warnings).toEqual(['ServersTransport ns/t: maxIdleConnsPerHost is ignored (connection pooling is metalgate\'s own)', 'ServersTransport ns/t: forwardingTimeouts.idleConnTimeout is ignored']);
  });

  test.each([
    [{ peerCertURI: 'spiffe://x' }, 'UnsupportedTransport', 'peerCertURI limits which backends are trusted'],
    [{ spiffe: { ids: ['spiffe://x'] } }, 'UnsupportedTransport', 'spiffe limits which backends are trusted'],
    [{ rootCAs: [{ configMap: 'cas' }] }, 'MissingConfigMap', 'rootCAs: ConfigMap ns/cas not found'],
    [{ rootCAs: [{ configMap: 'notes' }] }, 'BadConfigMap', 'rootCAs: ConfigMap ns/notes holds no PEM certificate'],
    [{ rootCAs: [{ secret: 'nope' }] }, 'MissingSecret', 'Secret ns/nope not found'],
    [{ certificatesSecrets: ['ca'] }, 'MissingSecret', 'has none of tls.crt'],
    [{ insecureSkipVerify: 'yes' }, 'BadTransport', 'insecureSkipVerify must be a boolean'],
    [{ forwardingTimeouts: { dialTimeout: 'soon' } }, 'BadTransport', 'forwardingTimeouts.dialTimeout'],
  ])('%j is refused: %s', (spec, reason, text) => {
    const r = st(spec);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toBe(reason);
      expect(r.error).toContain(text);
    }
  });
});
