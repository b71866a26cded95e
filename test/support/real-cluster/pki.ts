// Certificates of a real-kubelet test cluster, made with openssl: one CA, the
// API server's serving certificate (for its LAN address, the kubernetes
// Service IP and names, and loopback), the client certificate it shows the
// kubelets, and the ServiceAccount token signing key. Test infrastructure
// only: keys are 2048-bit RSA, valid for a day.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { run } from '../netns-exec.ts';

export interface ClusterPki {
  caCert: string;
  caKey: string;
  apiCert: string;
  apiKey: string;
  kubeletClientCert: string;
  kubeletClientKey: string;
  saKey: string;
  saPub: string;
}

async function openssl(args: string[]): Promise<void> {
  await run(['openssl', ...args], { timeoutMs: 30_000 });
}

async function signed(dir: string, name: string, subject: string, ca: { cert: string; key: string }, ext: string): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const extFile = join(dir, `${name}.ext`);
  await writeFile(extFile, ext);
  await openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-subj', subject, '-out', csr]);
  await openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '1', '-sha256', '-extfile', extFile, '-out', cert]);
  return { cert, key };
}

export async function makeClusterPki(dir: string, apiAddresses: readonly string[], apiNames: readonly string[]): Promise<ClusterPki> {
  await mkdir(dir, { recursive: true });
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caCert, '-days', '1', '-subj', '/CN=metalgate-test-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const ca = { cert: caCert, key: caKey };
  const san = [...apiAddresses.map((a) => `IP:${a}`), ...apiNames.map((n) => `DNS:${n}`)].join(',');
  const api = await signed(dir, 'apiserver', '/CN=kube-apiserver', ca, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`);
  const client = await signed(dir, 'apiserver-kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client', ca, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  const saKey = join(dir, 'sa.key');
  const saPub = join(dir, 'sa.pub');
  await openssl(['genrsa', '-out', saKey, '2048']);
  await openssl(['rsa', '-in', saKey, '-pubout', '-out', saPub]);
  return { caCert, caKey, apiCert: api.cert, apiKey: api.key, kubeletClientCert: client.cert, kubeletClientKey: client.key, saKey, saPub };
}
