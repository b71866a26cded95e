// Debian's nginx as a peer in differential tests: server blocks in, a
// running nginx on a free loopback port out (foreground, stopped by pid),
// its temp dir readable by nginx's unprivileged workers and removed on stop.

import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './control-plane.ts';
import { hasProgram } from './netns-exec.ts';

/** The nginx binary, or undefined (tests skip: `.ci/run` installs nginx-light). */
export const NGINX = ['/usr/sbin/nginx', '/usr/local/sbin/nginx'].find((p) => existsSync(p)) ?? (hasProgram('nginx') ? 'nginx' : undefined);

export interface NginxPeer {
  readonly port: number;
  /** A directory for files the configuration names (htpasswd, ...), readable by nginx's workers. */
  readonly dir: string;
  stop(): void;
}

/**
 * Starts nginx with `servers(port, dir)` as the body of its http block and
 * waits until it listens on 127.0.0.1:port. `files` are written into dir
 * first (mode 0644).
 */
export async function startNginxPeer(servers: (port: number, dir: string) => string, files: Record<string, string> = {}): Promise<NginxPeer> {
  if (NGINX === undefined) throw new Error('nginx is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'mg-nginx-peer-'));
  chmodSync(dir, 0o755);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { mode: 0o644 });
  const port = await freePort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${servers(port, dir)}
}
`,
  );
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  const until = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (up) break;
    if (child.exitCode !== null || Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not listen on ${port} (see ${dir}/error.log)`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    dir,
    stop: () => {
      if (child.pid !== undefined && child.exitCode === null) child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
