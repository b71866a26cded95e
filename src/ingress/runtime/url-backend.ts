// A Backend for the origin of a URL an annotation names (ingress-nginx
// mirror-target): an address literal at once, a host name looked up in the
// background (the first lookup when the backend is made, again when the
// answer is older than REFRESH_MS, on the next pick). pick() never waits:
// until a lookup has answered there is no endpoint, and a mirror copy is
// skipped, as nginx skips one it cannot resolve. https: TLS with the host as
// server name, the certificate not verified (nginx's proxy_ssl_verify off).

import dns from 'node:dns';
import net from 'node:net';
import type { Backend, Endpoint } from '../../proxy/http/types.ts';

const REFRESH_MS = 30_000;

export function urlBackend(url: URL, now: () => number = () => performance.now()): Backend {
  const secure = url.protocol === 'https:';
  const port = url.port !== '' ? Number(url.port) : secure ? 443 : 80;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const endpointAt = (ip: string): Endpoint => ({ ip, port, ready: true, serving: true, terminating: false });
  let endpoint: Endpoint | undefined = net.isIP(host) !== 0 ? endpointAt(host) : undefined;
  let resolvedAt = -Infinity;
  let looking = false;
  const lookUp = (): void => {
    if (looking) return;
    looking = true;
    dns.lookup(host, (err, address) => {
      looking = false;
      resolvedAt = now();
      // A failed lookup keeps the last address: a mirror is best effort.
      if (err === null) endpoint = endpointAt(address);
    });
  };
  if (endpoint === undefined) lookUp();
  return {
    name: `url ${url.host}`,
    protocol: secure ? 'https' : 'http',
    ...(secure && net.isIP(host) === 0 ? { tls: { servername: host } } : {}),
    pick(): Endpoint | undefined {
      if (net.isIP(host) === 0 && now() - resolvedAt > REFRESH_MS) lookUp();
      return endpoint;
    },
  };
}
