// The metalgate side of the auth-chain benchmark (auth-chain.ts): one
// Ingress with auth-url, enable-cors and x-forwarded-prefix, compiled by the
// real ingress compiler and served by the HTTP entrypoint in front of one
// backend, in one process or N processes listening with SO_REUSEPORT (as
// `--proxy-workers N` serves). Prints "ready" once every process serves.
//
//   node_modules/.bin/node test/bench/auth-chain-metalgate.ts --port 18094 --backend 127.0.0.1:18081 --auth http://127.0.0.1:18089/auth [--workers 2]

import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { IngressCompiler } from '../../src/ingress/compile/ingress-compiler.ts';
import { FlaggerMetrics } from '../../src/ingress/runtime/flagger-metrics.ts';
import { RuntimeFactory } from '../../src/ingress/runtime/runtime-target.ts';
import { EndpointSetBackend } from '../../src/proxy/http/backend.ts';
import { HttpEntrypoint } from '../../src/proxy/http/entrypoint.ts';
import { wireRouter } from '../support/compiled-tables.ts';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

const port = Number(arg('port', '18094'));
const [bhost, bport] = arg('backend', '127.0.0.1:18081').split(':') as [string, string];
const auth = arg('auth', 'http://127.0.0.1:18089/auth');
const workers = Number(arg('workers', '1'));
const isChild = process.env.METALGATE_BENCH_CHILD === '1';

if (workers > 1 && !isChild) {
  let ready = 0;
  const children = Array.from({ length: workers }, () => {
    const c = fork(fileURLToPath(import.meta.url), process.argv.slice(2), { env: { ...process.env, METALGATE_BENCH_CHILD: '1' }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    c.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready') && ++ready === workers) console.log('ready');
    });
    return c;
  });
  const stop = (): void => {
    for (const c of children) c.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const backend = new EndpointSetBackend({ name: 'bench/app:http', endpoints: [{ ip: bhost, port: Number(bport), ready: true, serving: true, terminating: false }] });
  const runtime = new RuntimeFactory({ backend: () => backend }, { flaggerMetrics: new FlaggerMetrics(new Registry()) });
  const compiler = new IngressCompiler();
  compiler.setIngressClass({ metadata: { name: 'metalgate' }, spec: { controller: 'metalgate.io/ingress-controller' } });
  compiler.setService({ metadata: { namespace: 'bench', name: 'app' }, spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });
  const N = 'nginx.ingress.kubernetes.io/';
  compiler.setIngress({
    metadata: {
      namespace: 'bench',
      name: 'chain',
      creationTimestamp: new Date(0),
      annotations: { [`${N}auth-url`]: auth, [`${N}enable-cors`]: 'true', [`${N}cors-allow-origin`]: 'https://app.example.com', [`${N}x-forwarded-prefix`]: '/shop' },
    },
    spec: { ingressClassName: 'metalgate', rules: [{ host: 'chain.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'app', port: { number: 80 } } } }] } }] },
  });
  const out = compiler.compile();
  const errors = out.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new Error(`the benchmark's Ingress is refused: ${errors.map((d) => d.message).join('; ')}`);
  const ep = new HttpEntrypoint({ router: wireRouter(out, runtime.materialize), accessLogger: pino({ level: 'silent' }), accessLogSampleRate: 0.01 });
  const server = net.createServer({ allowHalfOpen: true }, (s) => ep.handle(s, { tls: false }));
  server.listen({ port, host: '127.0.0.1', backlog: 4096, reusePort: workers > 1 || isChild }, () => console.log('ready'));
  process.on('SIGTERM', () => process.exit(0));
}
