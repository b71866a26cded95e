// What the HTTPS entrypoint offers and refuses, read off the port by real
// TLS tools: sslscan lists the protocols and suites a client can get,
// openssl s_client tries a client-initiated renegotiation and reads the
// session ticket's lifetime. Defaults are ingress-nginx's (ECDHE with
// AES-GCM or ChaCha20-Poly1305 for TLS 1.2, TLS 1.3 as shipped, 300 s
// sessions); renegotiation is refused.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { CertificateStore } from '../../../src/proxy/http/certificates.ts';
import { createSelfSignedCertificate } from '../../../src/proxy/http/self-signed.ts';
import { DEFAULT_TLS_POLICY } from '../../../src/proxy/http/tls-policy.ts';
import type { CertificatePair } from '../../../src/proxy/http/types.ts';
import { hasProgram } from '../../support/netns-exec.ts';
import { LOOPBACK, startProxy } from './http-harness.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const missing = ['openssl', 'sslscan'].filter((p) => !hasProgram(p));
const skip = missing.length > 0 ? `needs ${missing.join(' and ')} (Debian packages; .ci/run installs them)` : null;

/** An RSA certificate from openssl (the generated default is ECDSA): the RSA suites need one. */
function rsaPair(name: string): CertificatePair {
  const dir = mkdtempSync(join(tmpdir(), 'mg-rsa-'));
  try {
    const r = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-days', '2'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (r.status !== 0) throw new Error(`openssl req: ${r.stderr}`);
    return { cert: readFileSync(join(dir, 'c.pem'), 'utf8'), key: readFileSync(join(dir, 'k.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function tlsPort(certs: CertificateStore): Promise<number> {
  const p = await startProxy({ certificates: certs }, true);
  cleanups.push(() => p.close());
  return p.port;
}

/** Runs a program without blocking this process (the proxy under test answers from it). */
function run(argv: string[], limitMs: number): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('close', (code) => {
      clearTimeout(kill);
      resolve({ out, code });
    });
  });
}

/** What sslscan finds on the port: protocols enabled, and the accepted suites per protocol. */
async function scan(port: number, sni: string): Promise<{ enabled: string[]; suites: Record<string, string[]> }> {
  const r = await run(['sslscan', '--no-colour', '--no-check-certificate', '--no-heartbleed', '--no-compression', '--no-fallback', `--sni-name=${sni}`, `${LOOPBACK}:${port}`], 60_000);
  expect(r.code, r.out).toBe(0);
  const enabled = [...r.out.matchAll(/^(SSLv\d|TLSv1\.\d)\s+enabled/gm)].map((m) => m[1]!);
  const suites: Record<string, string[]> = {};
  for (const m of r.out.matchAll(/^(?:Preferred|Accepted)\s+(TLSv1\.\d)\s+\d+ bits\s+(\S+)/gm)) (suites[m[1]!] ??= []).push(m[2]!);
  for (const list of Object.values(suites)) list.sort();
  return { enabled, suites };
}

/** openssl s_client over TLS 1.2: `R` asks for a renegotiation, then an HTTP request follows. */
function sClient(port: number, sni: string, script: Array<[number, string]>, limitMs = 8_000): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn('openssl', ['s_client', '-connect', `${LOOPBACK}:${port}`, '-tls1_2', '-servername', sni], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const timers = script.map(([at, text]) => setTimeout(() => child.stdin.writable && child.stdin.write(text), at));
    const kill = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.stdin.on('error', () => {});
    child.on('close', (code) => {
      for (const t of timers) clearTimeout(t);
      clearTimeout(kill);
      resolve({ out, code });
    });
  });
}

describe.skipIf(skip !== null)(`TLS policy of the entrypoint${skip ? ` (skipped: ${skip})` : ''}`, () => {
  test('by default: TLS 1.2 and 1.3 only; for TLS 1.2 exactly the ECDHE AEAD suites the certificate can use', async () => {
    const certs = new CertificateStore(rsaPair('rsa.example'));
    certs.set('ns/ec', createSelfSignedCertificate({ names: ['ec.example'] }));
    const port = await tlsPort(certs);

    const rsa = await scan(port, 'rsa.example');
    expect(rsa.enabled).toEqual(['TLSv1.2', 'TLSv1.3']);
    expect(rsa.suites['TLSv1.2']).toEqual(['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305']);
    expect(rsa.suites['TLSv1.3']).toEqual(['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']);

    // A Secret's context picked by SNI offers the same policy (its key is ECDSA).
    const ec = await scan(port, 'ec.example');
    expect(ec.enabled).toEqual(['TLSv1.2', 'TLSv1.3']);
    expect(ec.suites['TLSv1.2']).toEqual(['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305']);
  }, 120_000);

  test('a configured policy is exactly what is offered', async () => {
    const certs = new CertificateStore(rsaPair('rsa.example'), { ...DEFAULT_TLS_POLICY, ciphers: 'ECDHE-RSA-AES256-GCM-SHA384', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    const port = await tlsPort(certs);
    const s = await scan(port, 'rsa.example');
    expect(s.enabled).toEqual(['TLSv1.2']);
    expect(s.suites).toEqual({ 'TLSv1.2': ['ECDHE-RSA-AES256-GCM-SHA384'] });
  }, 120_000);

  test('a client-initiated renegotiation is refused and the connection ends; session tickets live 300 s', async () => {
    const port = await tlsPort(new CertificateStore(rsaPair('rsa.example')));
    // Before: a request on the same connection is answered (the session works).
    const plain = await sClient(port, 'rsa.example', [[500, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']]);
    expect(plain.out).toMatch(/HTTP\/1\.1 404/);
    expect(plain.out).toMatch(/TLS session ticket lifetime hint: 300 \(seconds\)/);

    const reneg = await sClient(port, 'rsa.example', [
      [500, 'R\n'],
      [1500, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ]);
    expect(reneg.out).toMatch(/RENEGOTIATING/);
    // No answer after the attempt: the connection is gone, s_client exits by itself with an error.
    expect(reneg.out).not.toMatch(/HTTP\/1\.1/);
    expect(reneg.code).not.toBe(0);
    expect(reneg.code).not.toBeNull();
  }, 60_000);
});
