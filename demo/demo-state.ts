// Everything the demo has brought up, in one place, so that each stage reads
// what the earlier ones made and the teardown finds all of it.
import * as k8s from '@kubernetes/client-node';
import { join } from 'node:path';

import { kubeConfigFromString } from '../test/support/kube-config.ts';
import type { ControlPlane } from '../test/support/control-plane.ts';
import type { Lab, LabHost, LabNode, LabPod, LabProcess } from '../test/support/lab.ts';
import { DEMO_CLIENT } from './demo-plan.ts';
import type { DemoOptions } from './options.ts';
import type { ComponentTemplate } from './pod-spec.ts';
import type { Reporter } from './report.ts';

export interface ApiClients {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  discovery: k8s.DiscoveryV1Api;
  networking: k8s.NetworkingV1Api;
}

export interface ComponentSetup {
  template: ComponentTemplate;
  /** Kubeconfig file per Pod name, with the ServiceAccount token bound to that Pod. */
  kubeconfigs: Map<string, string>;
}

export class Demo {
  readonly opts: DemoOptions;
  readonly report: Reporter;
  readonly workDir: string;
  readonly logDir: string;
  readonly signal: AbortSignal;

  cp: ControlPlane | undefined;
  api: ApiClients | undefined;
  lab: Lab | undefined;
  controllerSetup: ComponentSetup | undefined;
  speakerSetup: ComponentSetup | undefined;
  controller: LabProcess | undefined;
  readonly speakers = new Map<string, LabProcess>();
  readonly appPods: LabPod[] = [];
  externalIp: string | undefined;
  entrypointIp: string | undefined;
  /** Traffic reached the app through the EXTERNAL-IP (so the failover can measure traffic). */
  trafficServed = false;

  constructor(opts: DemoOptions, report: Reporter, workDir: string, signal: AbortSignal) {
    this.opts = opts;
    this.report = report;
    this.workDir = workDir;
    this.logDir = join(workDir, 'logs');
    this.signal = signal;
  }

  setControlPlane(cp: ControlPlane): void {
    this.cp = cp;
    const kc = kubeConfigFromString(cp.kubeconfigYaml);
    this.api = {
      kc,
      core: kc.makeApiClient(k8s.CoreV1Api),
      apps: kc.makeApiClient(k8s.AppsV1Api),
      discovery: kc.makeApiClient(k8s.DiscoveryV1Api),
      networking: kc.makeApiClient(k8s.NetworkingV1Api),
    };
  }

  /** Throws when the user interrupted (Ctrl-C): stages call it between steps. */
  step(): void {
    this.signal.throwIfAborted();
  }

  need<T>(value: T | undefined, what: string): T {
    if (value === undefined) throw new Error(`internal: ${what} is not set up yet`);
    return value;
  }

  get client(): LabHost {
    return this.need(this.lab, 'the lab').client(DEMO_CLIENT);
  }

  get nodes(): LabNode[] {
    return this.need(this.lab, 'the lab').nodes;
  }

  /** `ip netns exec <ns>` as a person would type it. */
  netnsExec(host: { ns: string }, cmd: string): string {
    return `ip netns exec ${host.ns} ${cmd}`;
  }

  kubectlPath(): string {
    return join(this.need(this.cp, 'the control plane').binDir, 'kubectl');
  }
}
