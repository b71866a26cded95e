// ingress-nginx's ssl-passthrough through the real entrypoint: TLS for a
// passthrough host reaches the backend undecrypted (the client sees the
// backend's own certificate), other hosts on the same port are terminated
// here, and the host's plain HTTP is still routed as usual.
import https from 'node:https';
import type tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createSelfSignedCertificate } from '../../../src/proxy/http/self-signed.ts';
import { Harness, ing } from './harness.ts';

const N = 'nginx.ingress.kubernetes.io/';
const h = new Harness();

/** A TLS request to the entrypoint: status, body and the names on the certificate the client got. */
function tlsGet(servername: string, path = '/'): Promise<{ status: number; body: string; names: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port: h.securePort, path, servername, headers: { host: servername }, rejectUnauthorized: false, agent: false }, (res) => {
      const names = (res.socket as tls.TLSSocket).getPeerX509Certificate()?.subjectAltName ?? '';
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, names }));
    });
    req.on('error', reject);
  });
}

beforeAll(async () => {
  await h.start();
  // The backend terminates TLS itself, with a certificate of its own.
  await h.service('ns', 'secure-app', 1, { tls: createSelfSignedCertificate({ names: ['pass.example.com', 'backend.internal'] }) });
  await h.service('ns', 'app', 1);
  h.tlsSecret('ns', 'edge-tls', ['terminated.example.com']);
  const annotations = { [`${N}ssl-passthrough`]: 'true' };
  h.ingress(ing('ns', 'pass', [{ host: 'pass.example.com', paths: [{ path: '/', service: 'secure-app' }, { path: '/other', service: 'app' }] }], { annotations }));
  h.ingress(ing('ns', 'edge', [{ host: 'terminated.example.com', paths: [{ service: 'app' }] }], { tls: [{ hosts: ['terminated.example.com'], secretName: 'edge-tls' }] }));
  h.ingress(ing('ns', 'noroot', [{ host: 'noroot.example.com', paths: [{ path: '/api', service: 'app' }] }], { annotations }));
  h.ingress(ing('ns', 'wild', [{ host: '*.wild.example.com', paths: [{ service: 'app' }] }], { annotations }));
  const out = h.apply();
  expect(out.passthrough.map((p) => `${p.host} -> ${p.ref.service}`)).toEqual(['pass.example.com -> secure-app']);
  expect(out.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.ref.name}:${d.reason}`).sort()).toEqual(['noroot:BadAnnotation', 'noroot:NotServed', 'wild:BadAnnotation', 'wild:NotServed']);
  expect(out.diagnostics.some((d) => d.ref.name === 'pass' && d.reason === 'IgnoredPath')).toBe(true);
});

afterAll(async () => {
  await h.stop();
});

describe('ssl-passthrough', () => {
  test("a passthrough host's TLS goes to the backend undecrypted: the client sees the backend's certificate and answer", async () => {
    const a = await tlsGet('pass.example.com', '/anything');
    expect(a.status).toBe(200);
    expect(a.names).toContain('DNS:backend.internal');
    expect(JSON.parse(a.body).name).toBe('secure-app');
  });

  test('other hosts on the same port are terminated here, with their Secret', async () => {
    const a = await tlsGet('terminated.example.com');
    expect(a.status).toBe(200);
    expect(a.names).toBe('DNS:terminated.example.com');
    expect(JSON.parse(a.body).name).toBe('app');
  });

  test('plain HTTP for the passthrough host is routed as usual', async () => {
    expect((await h.request({ host: 'pass.example.com', path: '/other' })).json!.name).toBe('app');
  });

  test('many connections in a row, each passed through', async () => {
    const all = await Promise.all(Array.from({ length: 20 }, () => tlsGet('pass.example.com')));
    expect(all.every((a) => a.status === 200 && a.names.includes('backend.internal'))).toBe(true);
  });
});
