import type { V1DaemonSet, V1Deployment } from '@kubernetes/client-node';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';

import { componentPod, componentRun, containerPort, findComponent, type Workload } from '../../../demo/pod-spec.ts';
import { repoRoot } from '../../support/netns-exec.ts';

const speakerDs: V1DaemonSet = {
  kind: 'DaemonSet',
  metadata: { name: 'metalgate-speaker', namespace: 'metalgate-system' },
  spec: {
    selector: {},
    template: {
      metadata: { labels: { app: 'speaker' } },
      spec: {
        serviceAccountName: 'metalgate-speaker',
        hostNetwork: true,
        containers: [
          {
            name: 'speaker',
            image: 'x',
            args: ['speaker', '--log-level', 'debug'],
            env: [
              { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
              { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
              { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
              { name: 'METALGATE_LOG_FORMAT', value: 'json' },
            ],
            ports: [{ name: 'monitoring', containerPort: 7473 }],
          },
        ],
      },
    },
  },
};
const controllerDeploy: V1Deployment = {
  kind: 'Deployment',
  metadata: { name: 'metalgate-controller', namespace: 'metalgate-system' },
  spec: { selector: {}, template: { spec: { containers: [{ name: 'controller', image: 'x', args: ['controller'] }] } } },
};
const id = { name: 'metalgate-speaker-node1', namespace: 'metalgate-system', nodeName: 'node1' };

describe('pod-spec', () => {
  it('finds each component by its subcommand', () => {
    expect(findComponent([controllerDeploy, speakerDs], 'speaker')?.source).toBe('DaemonSet metalgate-system/metalgate-speaker');
    expect(findComponent([controllerDeploy, speakerDs], 'controller')?.source).toBe('Deployment metalgate-system/metalgate-controller');
    expect(findComponent([controllerDeploy], 'speaker')).toBeUndefined();
  });

  it('resolves the downward API as the kubelet would, keeps args and literal values', () => {
    const c = findComponent([speakerDs], 'speaker')!;
    expect(componentRun(c, id, '198.18.0.11')).toEqual({
      args: ['speaker', '--log-level', 'debug'],
      env: { NODE_NAME: 'node1', POD_NAMESPACE: 'metalgate-system', HOST_IP: '198.18.0.11', SA: 'metalgate-speaker', METALGATE_LOG_FORMAT: 'json' },
    });
    expect(containerPort(c, 'monitoring')).toBe(7473);
    expect(containerPort(c, 'nope')).toBeUndefined();
  });

  it('refuses what a plain process cannot be given, naming the variable', () => {
    const ds = structuredClone(speakerDs);
    ds.spec!.template.spec!.containers[0]!.env!.push({ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } });
    expect(() => componentRun(findComponent([ds], 'speaker')!, id, '198.18.0.11')).toThrow(/env PASSWORD .*secretKeyRef|env PASSWORD/);
    expect(() => componentRun(findComponent([speakerDs], 'speaker')!, id)).toThrow(/env HOST_IP .*status.hostIP/);
  });

  it('the Pod a DaemonSet would create on the node: its template with spec.nodeName', () => {
    const pod = componentPod(findComponent([speakerDs], 'speaker')!, id);
    expect(pod.metadata).toMatchObject({ name: 'metalgate-speaker-node1', namespace: 'metalgate-system', labels: { app: 'speaker' } });
    expect(pod.spec).toMatchObject({ nodeName: 'node1', hostNetwork: true, serviceAccountName: 'metalgate-speaker' });
  });

  const manifests = join(repoRoot, 'manifests');
  it('the real manifests: both components found, and their pods can be run as processes', () => {
    const workloads: Workload[] = [];
    for (const f of readdirSync(manifests).filter((n) => n.endsWith('.yaml'))) {
      for (const doc of parseAllDocuments(readFileSync(join(manifests, f), 'utf8'))) {
        const o = doc.toJS() as Workload | null;
        if (o && (o.kind === 'Deployment' || o.kind === 'DaemonSet')) workloads.push(o);
      }
    }
    for (const command of ['controller', 'speaker']) {
      const c = findComponent(workloads, command);
      expect(c, command).toBeDefined();
      const run = componentRun(c!, { name: `metalgate-${command}-x`, namespace: 'metalgate-system', nodeName: 'node1' }, '198.18.0.11');
      expect(run.args[0]).toBe(command);
      expect(run.env.POD_NAMESPACE).toBe('metalgate-system');
    }
    expect(componentRun(findComponent(workloads, 'speaker')!, id).env.NODE_NAME).toBe('node1');
  });
});
