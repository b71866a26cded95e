// Optional series under Traefik's and ingress-nginx's own names, so that
// Flagger's `traefik` and `nginx` metric providers (and dashboards written
// for those proxies) work unchanged against metalgate. The queries are
// Flagger's (fluxcd/flagger pkg/metrics/observers/traefik.go, nginx.go):
//   traefik_service_requests_total{service,code,method,protocol}
//   traefik_service_request_duration_seconds{service,code,method,protocol}
//     (histogram; Flagger reads _bucket with le="+Inf" and code!~"5..",
//     service=~"<ns>-<target>-canary-<port>@kubernetescrd")
//   nginx_ingress_controller_requests{namespace,ingress,service,status,method,canary}
//   nginx_ingress_controller_request_duration_seconds{namespace,ingress,service,status,method,canary}
//   nginx_ingress_controller_ingress_upstream_latency_seconds{namespace,ingress,service}
//     (Flagger's nginx provider divides its _sum by its _count)
// Label values follow the originals: Traefik's service name
// `<ns>-<svc>-<port>@kubernetescrd` (`@kubernetes` for Ingress backends),
// ingress-nginx's Ingress of the location (the main one for canary
// traffic, with `canary` naming the canary's upstream).
// The per-service series of our own (requests by code, duration histogram)
// are the entrypoint's: metalgate_http_requests_total{backend} etc.

import { Counter, Histogram, type Registry } from '../../common/prom-classes.ts';
import type { Middleware, RequestContext, RequestOutcome } from '../../proxy/http/types.ts';
import type { BackendLabels } from '../model/service-node.ts';

const TRAEFIK_BUCKETS = [0.1, 0.3, 1.2, 5];
const NGINX_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class FlaggerMetrics {
  readonly traefikRequests: Counter<string>;
  readonly traefikDuration: Histogram<string>;
  readonly nginxRequests: Counter<string>;
  readonly nginxDuration: Histogram<string>;
  readonly nginxUpstreamLatency: Histogram<string>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.traefikRequests = new Counter({ name: 'traefik_service_requests_total', help: 'Requests by service (Traefik-compatible).', labelNames: ['service', 'code', 'method', 'protocol'], registers });
    this.traefikDuration = new Histogram({
      name: 'traefik_service_request_duration_seconds',
      help: 'Request duration by service (Traefik-compatible).',
      labelNames: ['service', 'code', 'method', 'protocol'],
      buckets: TRAEFIK_BUCKETS,
      registers,
    });
    this.nginxRequests = new Counter({
      name: 'nginx_ingress_controller_requests',
      help: 'Requests by Ingress (ingress-nginx-compatible).',
      labelNames: ['namespace', 'ingress', 'service', 'status', 'method', 'canary'],
      registers,
    });
    this.nginxDuration = new Histogram({
      name: 'nginx_ingress_controller_request_duration_seconds',
      help: 'Request duration by Ingress (ingress-nginx-compatible).',
      labelNames: ['namespace', 'ingress', 'service', 'status', 'method', 'canary'],
      buckets: NGINX_BUCKETS,
      registers,
    });
    this.nginxUpstreamLatency = new Histogram({
      name: 'nginx_ingress_controller_ingress_upstream_latency_seconds',
      help: 'Upstream latency by Ingress (ingress-nginx-compatible).',
      labelNames: ['namespace', 'ingress', 'service'],
      buckets: NGINX_BUCKETS,
      registers,
    });
  }

  /**
   * A middleware recording one route leaf's requests. `ingress` is set for
   * Ingress routes (nginx series), `canary` names the canary upstream when
   * this leaf is the canary of a split.
   */
  middleware(labels: BackendLabels, ingress: { namespace: string; name: string } | undefined, canary: string): Middleware {
    const metrics = this;
    return {
      name: `metrics:${labels.name}`,
      onDone(ctx: RequestContext, outcome: RequestOutcome): void {
        const seconds = outcome.durationMs / 1000;
        const code = String(outcome.status);
        const protocol = ctx.header('upgrade') !== undefined ? 'websocket' : 'http';
        metrics.traefikRequests.inc({ service: labels.traefikService, code, method: ctx.method, protocol });
        metrics.traefikDuration.observe({ service: labels.traefikService, code, method: ctx.method, protocol }, seconds);
        if (ingress) {
          const l = { namespace: ingress.namespace, ingress: ingress.name, service: labels.nginxService, status: code, method: ctx.method, canary };
          metrics.nginxRequests.inc(l);
          metrics.nginxDuration.observe(l, seconds);
          metrics.nginxUpstreamLatency.observe({ namespace: ingress.namespace, ingress: ingress.name, service: labels.nginxService }, seconds);
        }
      },
    };
  }
}
