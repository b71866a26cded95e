// `metalgate controller`: flags in, a running controller out, until SIGTERM.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { poolNamespacesOf, UsageError, type FlagValues } from '../common/flags.ts';
import { runComponent } from '../common/run-component.ts';
import { loadKubeClient } from '../kube/client.ts';
import { Controller, defaultControllerOptions, type ControllerOptions } from './controller.ts';

function controllerOptions(f: FlagValues): ControllerOptions {
  const ipMode = String(f['ip-mode']);
  if (ipMode !== 'Proxy' && ipMode !== 'VIP') throw new UsageError(`--ip-mode must be Proxy or VIP, got "${ipMode}"`);
  return {
    ...defaultControllerOptions,
    configNamespace: String(f['config-namespace']),
    configName: String(f['config-name']),
    configKey: String(f['config-key']),
    poolNamespaces: poolNamespacesOf(f),
    ownClassOnly: f['own-class-only'] === true,
    className: String(f['lb-class']),
    ipMode,
    identity: typeof f.identity === 'string' && f.identity ? f.identity : `${hostname()}-${process.pid}`,
    leaseNamespace: String(f['lease-namespace']),
    leaseName: String(f['lease-name']),
    leaseDurationMs: Number(f['lease-duration']) * 1000,
    renewDeadlineMs: Number(f['renew-deadline']) * 1000,
    retryPeriodMs: Number(f['retry-period']) * 1000,
  };
}

export async function runController(f: FlagValues, log: Logger): Promise<number> {
  const opts = controllerOptions(f);
  const kc = loadKubeClient(typeof f.kubeconfig === 'string' ? f.kubeconfig : undefined);
  const controller = new Controller(kc, log, opts);
  return runComponent(
    {
      name: 'controller',
      registry: controller.registry,
      notReadyReason: () => controller.notReadyReason(),
      start: () => controller.start(),
      stop: () => controller.stop(),
    },
    f,
    log,
  );
}
