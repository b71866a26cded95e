// prom-client's metric and registry classes, loaded without its index. The
// index also loads the default process metrics (and @opentelemetry/api with
// them), the Pushgateway and the cluster aggregator, which a proxy worker
// thread never uses. Measured with test/bench/memory.ts 1000 4: the speaker
// with 4 worker threads holds 188.5-188.8 MiB at rest, against 193.9 with
// the index in every worker (Node 24, prom-client 15.1). The classes
// are the same objects the index exports (Node caches a file once), so
// metrics made here register in any prom-client Registry.
//
// This reaches into prom-client's file layout (lib/*.js, no "exports" map):
// the typings come from the package's public ones, and the worker tests fail
// if a file moves.

import { createRequire } from 'node:module';
import type * as Prom from 'prom-client';

const load = createRequire(import.meta.url);

export const Registry = load('prom-client/lib/registry') as typeof Prom.Registry;
export type Registry = Prom.Registry;
export const Counter = load('prom-client/lib/counter') as typeof Prom.Counter;
export type Counter<T extends string = string> = Prom.Counter<T>;
export const Gauge = load('prom-client/lib/gauge') as typeof Prom.Gauge;
export type Gauge<T extends string = string> = Prom.Gauge<T>;
export const Histogram = load('prom-client/lib/histogram') as typeof Prom.Histogram;
export type Histogram<T extends string = string> = Prom.Histogram<T>;
/** Merges the worker threads' metrics (worker-pool.ts); its file loads node:cluster, which Node has loaded already. */
export const AggregatorRegistry = load('prom-client/lib/cluster') as typeof Prom.AggregatorRegistry;
