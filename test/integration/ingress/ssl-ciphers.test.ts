// ingress-nginx ssl-ciphers through the real TLS entrypoint: the Ingress's
// hosts offer only the listed TLS 1.2 ciphers (nginx's ssl_ciphers at server
// level); other hosts keep the entrypoint's offer. A TLS 1.2 client
// offering only other ciphers fails the handshake, one offering a listed
// cipher gets it.
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Harness, ing } from './harness.ts';

const N = 'nginx.ingress.kubernetes.io/';
const h = new Harness();

beforeAll(async () => {
  await h.start();
  await h.service('ns', 'app', 1);
  h.tlsSecret('ns', 'edge', ['narrow.example.com', 'plain.example.com']);
  const tlsFor = (host: string) => ({ tls: [{ hosts: [host], secretName: 'edge' }] });
  h.ingress(ing('ns', 'narrow', [{ host: 'narrow.example.com', paths: [{ service: 'app' }] }], { annotations: { [`${N}ssl-ciphers`]: 'ECDHE-ECDSA-AES128-GCM-SHA256' }, ...tlsFor('narrow.example.com') }));
  h.ingress(ing('ns', 'plain', [{ host: 'plain.example.com', paths: [{ service: 'app' }] }], tlsFor('plain.example.com')));
  h.ingress(ing('ns', 'bad', [{ host: 'bad.example.com', paths: [{ service: 'app' }] }], { annotations: { [`${N}ssl-ciphers`]: 'HIGH; rm -rf' } }));
  const out = h.apply();
  expect(out.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.ref.name}:${d.reason}`)).toEqual(['bad:BadAnnotation', 'bad:NotServed']);
});

afterAll(async () => {
  await h.stop();
});

/** The cipher a TLS 1.2 handshake settles on, or the error. */
function handshake(servername: string, ciphers: string): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port: h.securePort, servername, ciphers, maxVersion: 'TLSv1.2', rejectUnauthorized: false }, () => {
      resolve(s.getCipher().standardName);
      s.end();
    });
    s.on('error', (e) => resolve(`error: ${e.message}`));
  });
}

describe('ssl-ciphers', () => {
  test('the host offers only its list: another cipher fails the handshake, a listed one is chosen', async () => {
    expect(await handshake('narrow.example.com', 'ECDHE-ECDSA-AES256-GCM-SHA384')).toMatch(/^error: /);
    expect(await handshake('narrow.example.com', 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256')).toBe('TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
  });

  test('other hosts keep the entrypoint offer', async () => {
    expect(await handshake('plain.example.com', 'ECDHE-ECDSA-AES256-GCM-SHA384')).toBe('TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384');
  });
});
