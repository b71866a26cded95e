// L7 with a typical ingress-nginx chain: external auth (auth-url, no cache),
// CORS for one origin, and a request field set upstream (x-forwarded-prefix).
// nginx is configured as ingress-nginx's template writes that Ingress (an
// internal auth location reached with auth_request, a new connection per
// auth request as ingress-nginx makes it without auth-keepalive; the CORS
// if-blocks, add_header standing in for more_set_headers); metalgate serves
// the same Ingress through its compiler (auth-chain-metalgate.ts), in two
// SO_REUSEPORT processes. The auth service and the backend are one nginx
// (worker_processes 1): `return 202` and `return 200 "ok"`.
//
//   node_modules/.bin/node test/bench/auth-chain.ts [--seconds 8] [--conns 50,200]
//
// Needs nginx and wrk. wrk sends the Origin and a session cookie; every
// request is authorized and gets the CORS fields. Loopback only; every
// process runs in the foreground and is stopped by pid.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure, requireTools, start, stop, table, type Row, type Started, writeNginxConf } from './proxy-common.ts';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

const SECONDS = Number(arg('seconds', '8'));
const CONNS = arg('conns', '50,200').split(',').map(Number);
const P_BACKEND = 18081;
const P_AUTH = 18089;
const P_NGINX = 18092;
const P_MG = 18094;

requireTools(['nginx', 'wrk']);
const dir = mkdtempSync(join(tmpdir(), 'metalgate-bench-chain-'));

const nginxConf = (name: string, workers: string, body: string): string => writeNginxConf(dir, name, workers, body);

const backendConf = nginxConf(
  'backend',
  '1',
  `  server {
    listen 127.0.0.1:${P_BACKEND} backlog=4096;
    location / { return 200 "ok"; }
  }
  server {
    listen 127.0.0.1:${P_AUTH} backlog=4096;
    location / { return 202; }
  }`,
);

const cors = `add_header 'Access-Control-Allow-Origin' $http_origin always;
        add_header 'Access-Control-Allow-Credentials' 'true' always;
        add_header 'Access-Control-Allow-Methods' 'GET, PUT, POST, DELETE, PATCH, OPTIONS' always;
        add_header 'Access-Control-Allow-Headers' 'DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization' always;
        add_header 'Access-Control-Max-Age' '1728000' always;`;
const nginxChainConf = nginxConf(
  'nginx-chain',
  'auto',
  `  upstream be {
    server 127.0.0.1:${P_BACKEND};
    keepalive 128;
    keepalive_requests 100000000;
  }
  server {
    listen 127.0.0.1:${P_NGINX} backlog=4096;
    location = /_external-auth {
      internal;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Forwarded-Proto "";
      proxy_set_header X-Request-ID $request_id;
      proxy_set_header Host 127.0.0.1:${P_AUTH};
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Sent-From "nginx-ingress-controller";
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Auth-Request-Redirect $request_uri;
      proxy_http_version 1.1;
      set $target "http://127.0.0.1:${P_AUTH}/auth";
      proxy_pass $target;
    }
    location / {
      set $cors '';
      if ($http_origin ~* ((https://app\\.example\\.com))$ ) { set $cors 'true'; }
      if ($request_method = 'OPTIONS') { set $cors \${cors}options; }
      if ($cors = "true") {
        ${cors}
      }
      if ($cors = "trueoptions") {
        ${cors}
        return 204;
      }
      auth_request /_external-auth;
      auth_request_set $auth_cookie $upstream_http_set_cookie;
      add_header Set-Cookie $auth_cookie;
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Prefix "/shop";
    }
  }`,
);

const headers = ['-H', 'Host: chain.example.com', '-H', 'Origin: https://app.example.com', '-H', 'Cookie: _oauth2_proxy=valid'];
const started: Started[] = [];
const rows: Row[] = [];
try {
  const backend = await start('backend', 'nginx', ['-p', dir, '-c', backendConf, '-e', `${dir}/backend-error.log`], P_BACKEND);
  started.push(backend);
  const targets: Array<{ name: string; port: number; launch: () => Promise<Started> }> = [
    { name: 'nginx', port: P_NGINX, launch: () => start('nginx', 'nginx', ['-p', dir, '-c', nginxChainConf, '-e', `${dir}/nginx-chain-error.log`], P_NGINX) },
    {
      name: 'metalgate x2',
      port: P_MG,
      launch: () =>
        start('metalgate x2', process.execPath, [fileURLToPath(new URL('./auth-chain-metalgate.ts', import.meta.url)), '--port', String(P_MG), '--backend', `127.0.0.1:${P_BACKEND}`, '--auth', `http://127.0.0.1:${P_AUTH}/auth`, '--workers', '2'], P_MG, 'ready'),
    },
  ];
  for (const t of targets) {
    const p = await t.launch();
    started.push(p);
    const url = `http://127.0.0.1:${t.port}/page?x=1`;
    await measure(t.name, url, p.pid, 50, 2, headers);
    for (const c of CONNS) {
      const row = await measure(t.name, url, p.pid, c, SECONDS, headers);
      rows.push(row);
      console.error(`${t.name} c=${c}: ${Math.round(row.r.rps)} req/s p99 ${row.r.p99ms} ms ${row.r.errors}`);
    }
    await stop(p);
  }
  console.log(table(rows));
  console.log('\nThe CPU column is the proxy process tree only; the auth service and the backend (one nginx worker) are outside it.');
} finally {
  for (const p of started.reverse()) await stop(p).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
