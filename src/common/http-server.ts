// /metrics, /healthz and /readyz for every component; /config for one that
// serves a configuration (the speaker's proxy configuration, keys left out).
import type { Server } from 'node:http';
import { http } from './builtins.ts';
import { once } from 'node:events';
import type { Registry } from 'prom-client';

export interface HealthServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** The page served at /metrics; default: the registry's. */
  metrics?: () => Promise<string>;
  /** Liveness: the event loop turns and the process is not wedged. */
  healthy?: () => boolean;
  /** Readiness: caches synced, work can be done. Returns a reason when not ready. */
  ready: () => string | undefined;
  /** The configuration in force, as JSON at /config (no secrets in it). */
  config?: () => unknown;
}

export async function startHealthServer(opts: HealthServerOptions): Promise<Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      (opts.metrics ? opts.metrics() : opts.registry.metrics()).then(
        (text) => {
          res.writeHead(200, { 'content-type': opts.registry.contentType });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`${err.message}\n`);
        },
      );
      return;
    }
    if (path === '/healthz' || path === '/livez') {
      const ok = opts.healthy ? opts.healthy() : true;
      res.writeHead(ok ? 200 : 500, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'unhealthy\n');
      return;
    }
    if (path === '/readyz') {
      const reason = opts.ready();
      res.writeHead(reason ? 503 : 200, { 'content-type': 'text/plain' });
      res.end(reason ? `not ready: ${reason}\n` : 'ok\n');
      return;
    }
    if (path === '/config' && opts.config) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(opts.config(), null, 2)}\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  server.listen(opts.port, opts.host);
  await once(server, 'listening');
  return server;
}
