// What the proxy takes: its options and their defaults. A leaf module, so
// the flag table (proxy-flags.ts), the proxy and the worker read it without
// importing each other.
import type { Registry } from 'prom-client';
import { METALGATE_CLASS } from '../ipam/service-request.ts';
import type { TlsPolicy } from './http/tls-policy.ts';
import type { KernelCommands } from './kernel/kernel-commands.ts';
import type { L4Dataplane } from './k8s/l4-annotations.ts';
import type { BindBackoff } from './listeners/bind-backoff.ts';
import { DEFAULT_UNBIND_GRACE_MS } from './listeners/unbind-grace.ts';

export const DEFAULT_ENTRYPOINT_SERVICE = 'metalgate-system/metalgate-ingress';
export const DEFAULT_INGRESS_CLASS = 'metalgate';


export interface ProxyOptions {
  /** This node: externalTrafficPolicy Local keeps its endpoints only. */
  nodeName: string;
  /** The Services the proxy serves: the speaker's class filter. */
  ownClassOnly: boolean;
  className: string;
  /** "namespace/name" of the ingress entrypoint Service. */
  entrypoint: string;
  ingressClass: string;
  /** Also serve Ingresses without a class. */
  ingressWithoutClass: boolean;
  /** "namespace/name" of a kubernetes.io/tls Secret to use as the default certificate (else the engine's self-signed one). */
  defaultCertificate?: string;
  /** Established connections of an unbound listener may run this long. */
  unbindGraceMs: number;
  /** On stop: how long in-flight connections and requests may finish. */
  drainGraceMs: number;
  /** Fraction of L4 connections logged when they end. */
  accessLogSampleRate: number;
  bindBackoff?: BindBackoff;
  /** Coalesces bursts of watch events into one plan / route build. */
  debounceMs: number;
  /** Where a connection to an endpoint IP really goes (default: that IP). */
  dialAddress?: (ip: string) => string;
  /**
   * Serve in this process (default). False: only build the configuration,
   * for worker threads that serve it ('config' events).
   */
  serve?: boolean;
  /** Register the Flagger-compatible series here (the in-process runtime). */
  flaggerMetrics?: Registry;
  /** Bind with SO_REUSEPORT (this proxy is one of several worker threads). */
  reusePort?: boolean;
  /** Write Events about Services (default true). */
  reportEvents?: boolean;
  /**
   * Program the kernel DNAT rules of `metalgate.io/l4-dataplane: kernel`
   * ports (default true). A proxy that does not leaves those ports alone.
   */
  kernelForwarding?: boolean;
  /**
   * Who forwards the L4 ports of Services without the
   * metalgate.io/l4-dataplane annotation (default proxy; `--l4-dataplane`).
   */
  l4Dataplane?: L4Dataplane;
  /** The programs kernel forwarding runs (default: nft and conntrack from PATH). */
  kernelCommands?: KernelCommands;
  /** What the HTTPS entrypoint offers (default: DEFAULT_TLS_POLICY). */
  tlsPolicy?: TlsPolicy;
  /** Forward request field names with underscores (default: dropped). */
  underscoresInHeaders?: boolean;
}

export const defaultProxyOptions: Omit<ProxyOptions, 'nodeName'> = {
  ownClassOnly: false,
  className: METALGATE_CLASS,
  entrypoint: DEFAULT_ENTRYPOINT_SERVICE,
  ingressClass: DEFAULT_INGRESS_CLASS,
  ingressWithoutClass: false,
  unbindGraceMs: DEFAULT_UNBIND_GRACE_MS,
  drainGraceMs: 10_000,
  accessLogSampleRate: 0.01,
  debounceMs: 5,
};

