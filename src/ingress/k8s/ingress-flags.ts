// Flags of the rule engine on `metalgate speaker`, next to the proxy's own
// (src/proxy/proxy-flags.ts: --ingress-service, --ingress-class,
// --ingress-without-class are read there and passed in here). Booleans
// default to false, as the flag parser wants.
import { UsageError, type FlagSpec, type FlagValues } from '../../common/flags.ts';
import type { IngressControllerOptions } from './ingress-controller.ts';

export const ingressEngineFlags: FlagSpec[] = [
  { name: 'ingress-allow-cross-namespace', type: 'boolean', default: false, help: 'let IngressRoutes reference Services, TraefikServices and Middlewares of other namespaces (Traefik allowCrossNamespace)' },
  { name: 'ingress-default-rule-syntax', type: 'string', default: 'v3', help: 'Traefik rule syntax for routes that name none: v3 or v2' },
  { name: 'ingress-flagger-metrics', type: 'boolean', default: false, help: "also export Traefik's and ingress-nginx's request series (traefik_service_*, nginx_ingress_controller_*) for Flagger" },
  { name: 'ingress-crd-retry', type: 'number', default: 30, help: 'how often to look again for Traefik CRDs that are not installed, seconds' },
];

export interface IngressEngineFlagOptions {
  /** Merged by the caller with the view, the publisher and the event sink. */
  readonly options: Pick<IngressControllerOptions, 'allowCrossNamespace' | 'defaultSyntax' | 'crdRetryMs'>;
  /** Register the Flagger-compatible series in the process registry. */
  readonly flaggerMetrics: boolean;
}

export function ingressEngineFlagOptions(f: FlagValues): IngressEngineFlagOptions {
  const syntax = String(f['ingress-default-rule-syntax'] ?? 'v3');
  if (syntax !== 'v2' && syntax !== 'v3') throw new UsageError(`--ingress-default-rule-syntax must be v2 or v3, got "${syntax}"`);
  const retry = Number(f['ingress-crd-retry'] ?? 30);
  if (!(retry > 0)) throw new UsageError('--ingress-crd-retry must be a positive number of seconds');
  return {
    options: { allowCrossNamespace: f['ingress-allow-cross-namespace'] === true, defaultSyntax: syntax, crdRetryMs: Math.round(retry * 1000) },
    flaggerMetrics: f['ingress-flagger-metrics'] === true,
  };
}
