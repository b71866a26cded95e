// Runs the real controller in this process against the test cluster, with
// short leader-election timings so tests do not wait 15 s for a Lease.
import type * as k8s from '@kubernetes/client-node';
import { Controller, defaultControllerOptions, type ControllerOptions } from '../../../src/controller/controller.ts';
import { silentLogger, createLogger } from '../../../src/common/log.ts';
import { productClient } from '../../support/kube-config.ts';

let counter = 0;

export function startController(kc: k8s.KubeConfig, overrides: Partial<ControllerOptions> = {}): Controller {
  const log = process.env.METALGATE_TEST_LOG ? createLogger({ level: process.env.METALGATE_TEST_LOG, pretty: false }) : silentLogger();
  const c = new Controller(productClient(kc), log, {
    ...defaultControllerOptions,
    identity: `test-controller-${process.pid}-${++counter}`,
    leaseDurationMs: 2_000,
    renewDeadlineMs: 1_500,
    retryPeriodMs: 250,
    ...overrides,
  });
  c.start();
  return c;
}
