// Entrypoint metrics. Counted in plain arrays per backend on the hot path
// (prom-client's labels()/observe() hash the label set on every call) and
// turned into prom-client metric objects only when the registry is scraped.
//
//   metalgate_http_requests_total{entrypoint,backend,code}
//   metalgate_http_request_duration_seconds{entrypoint,backend} (histogram)
//   metalgate_http_open_connections{entrypoint,protocol}
//   metalgate_http_upstream_errors_total{entrypoint,backend,reason}
//   metalgate_http_upstream_connects_total{entrypoint,backend}
//
// `backend` is Backend.name, or "-" for answers without one (404, direct responses).

import type { Registry } from 'prom-client';

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class BackendSeries {
  readonly name: string;
  /** Requests by status code (index = code, 0 = nothing sent). */
  readonly codes = new Float64Array(600);
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  readonly buckets = new Float64Array(DURATION_BUCKETS.length + 1);
  sum = 0;
  count = 0;
  connects = 0;
  readonly errors = new Map<string, number>();

  constructor(name: string) {
    this.name = name;
  }

  observe(status: number, seconds: number): void {
    this.codes[status >= 0 && status < 600 ? status : 0]!++;
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    this.buckets[i]!++;
    this.sum += seconds;
    this.count++;
  }

  upstreamError(reason: string): void {
    this.errors.set(reason, (this.errors.get(reason) ?? 0) + 1);
  }
}

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** The shape prom-client's Registry reads from a metric. */
class CollectedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly aggregator = 'sum';
  private readonly collect: () => MetricValue[];

  constructor(name: string, help: string, type: string, collect: () => MetricValue[]) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.collect = collect;
  }

  get(): { name: string; help: string; type: string; values: MetricValue[]; aggregator: string } {
    return { name: this.name, help: this.help, type: this.type, values: this.collect(), aggregator: this.aggregator };
  }

  reset(): void {}
}

export class HttpMetrics {
  readonly entrypoint: string;
  openHttp1 = 0;
  openHttp2 = 0;
  private readonly series = new Map<string, BackendSeries>();

  constructor(entrypoint: string, registry?: Registry) {
    this.entrypoint = entrypoint;
    if (registry !== undefined) this.register(registry);
  }

  /** The series of a backend name (created on first use). */
  backend(name: string): BackendSeries {
    let s = this.series.get(name);
    if (s === undefined) {
      s = new BackendSeries(name);
      this.series.set(name, s);
    }
    return s;
  }

  private register(registry: Registry): void {
    let members = REGISTERED.get(registry);
    if (members === undefined) {
      members = new Set();
      REGISTERED.set(registry, members);
      registerCollectors(registry, members);
    }
    members.add(this);
  }

  /** @internal */
  allSeries(): IterableIterator<BackendSeries> {
    return this.series.values();
  }

}

/** Entrypoints sharing a registry share one set of metric objects (names must be unique per registry). */
const REGISTERED = new WeakMap<Registry, Set<HttpMetrics>>();

function registerCollectors(registry: Registry, members: Set<HttpMetrics>): void {
  const perSeries = (fn: (ep: string, s: BackendSeries, out: MetricValue[]) => void) => (): MetricValue[] => {
    const out: MetricValue[] = [];
    for (const m of members) for (const s of m.allSeries()) fn(m.entrypoint, s, out);
    return out;
  };
  const H = 'metalgate_http_request_duration_seconds';
  const metrics = [
    new CollectedMetric(
      'metalgate_http_requests_total',
      'HTTP requests answered, by backend and status code',
      'counter',
      perSeries((ep, s, out) => {
        for (let c = 0; c < 600; c++) {
          const n = s.codes[c]!;
          if (n > 0) out.push({ value: n, labels: { entrypoint: ep, backend: s.name, code: c } });
        }
      }),
    ),
    new CollectedMetric(
      H,
      'Time from request head received to response complete',
      'histogram',
      perSeries((ep, s, out) => {
        let acc = 0;
        for (let i = 0; i < DURATION_BUCKETS.length; i++) {
          acc += s.buckets[i]!;
          out.push({ value: acc, labels: { entrypoint: ep, backend: s.name, le: DURATION_BUCKETS[i]! }, metricName: `${H}_bucket` });
        }
        out.push({ value: s.count, labels: { entrypoint: ep, backend: s.name, le: '+Inf' }, metricName: `${H}_bucket` });
        out.push({ value: s.sum, labels: { entrypoint: ep, backend: s.name }, metricName: `${H}_sum` });
        out.push({ value: s.count, labels: { entrypoint: ep, backend: s.name }, metricName: `${H}_count` });
      }),
    ),
    new CollectedMetric('metalgate_http_open_connections', 'Client connections open now', 'gauge', () => {
      const out: MetricValue[] = [];
      for (const m of members) {
        out.push({ value: m.openHttp1, labels: { entrypoint: m.entrypoint, protocol: 'http1' } });
        out.push({ value: m.openHttp2, labels: { entrypoint: m.entrypoint, protocol: 'http2' } });
      }
      return out;
    }),
    new CollectedMetric(
      'metalgate_http_upstream_errors_total',
      'Upstream failures (connect refused/timeout, reset, bad response, read timeout)',
      'counter',
      perSeries((ep, s, out) => {
        for (const [reason, n] of s.errors) out.push({ value: n, labels: { entrypoint: ep, backend: s.name, reason } });
      }),
    ),
    new CollectedMetric(
      'metalgate_http_upstream_connects_total',
      'New upstream connections opened (keep-alive pool misses)',
      'counter',
      perSeries((ep, s, out) => {
        if (s.connects > 0) out.push({ value: s.connects, labels: { entrypoint: ep, backend: s.name } });
      }),
    ),
  ];
  // prom-client's Registry accepts any object with name/help/type/get().
  for (const m of metrics) registry.registerMetric(m as unknown as Parameters<Registry['registerMetric']>[0]);
}
