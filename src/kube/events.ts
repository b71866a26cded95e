// Kubernetes Events (core/v1, what `kubectl describe` shows) with the
// aggregation every recorder needs: a repeat of the same reason and message
// on the same object bumps `count` instead of creating a new Event.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { describeError } from './client.ts';
import type { KubeClient } from './api/kube-client.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventTarget {
  apiVersion?: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  first: Date;
}

export class EventRecorder {
  private readonly kube: KubeClient;
  private readonly seen = new Map<string, Seen>();
  private readonly component: string;
  private readonly host: string;
  private readonly log: Logger;

  constructor(kube: KubeClient, log: Logger, component: string, host = '') {
    // Events may wait: a burst of them shares a few connections (KubeClient.queued).
    this.kube = kube.queued();
    this.log = log;
    this.component = component;
    this.host = host;
  }

  /** Fire and forget: an Event that cannot be written is logged, never thrown. */
  emit(target: EventTarget, type: EventType, reason: string, message: string): void {
    void this.record(target, type, reason, message);
  }

  async record(target: EventTarget, type: EventType, reason: string, message: string): Promise<void> {
    const meta = target.metadata ?? {};
    const namespace = meta.namespace || 'default';
    const key = `${meta.uid ?? `${target.kind}/${namespace}/${meta.name}`}\u0000${type}\u0000${reason}\u0000${message}`;
    const now = new Date();
    const prev = this.seen.get(key);
    try {
      if (prev) {
        prev.count += 1;
        await this.kube.mergePatch(`/api/v1/namespaces/${prev.namespace}/events/${prev.name}`, { count: prev.count, lastTimestamp: now });
        return;
      }
      const name = `${meta.name ?? 'unknown'}.${Date.now().toString(16)}${randomBytes(3).toString('hex')}`;
      await this.kube.create(`/api/v1/namespaces/${namespace}/events`, {
          metadata: { name, namespace },
          involvedObject: {
            apiVersion: target.apiVersion ?? 'v1',
            kind: target.kind,
            name: meta.name,
            namespace: meta.namespace,
            uid: meta.uid,
            resourceVersion: meta.resourceVersion,
          },
          type,
          reason,
          message,
          source: { component: this.component, ...(this.host ? { host: this.host } : {}) },
          reportingComponent: this.component,
          reportingInstance: this.host || this.component,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
      });
      if (this.seen.size > 4096) this.seen.clear(); // bound memory; worst case a duplicate Event
      this.seen.set(key, { name, namespace, count: 1, first: now });
    } catch (err) {
      if (prev) this.seen.delete(key);
      this.log.debug({ reason, object: `${namespace}/${meta.name}`, err: describeError(err) }, 'could not write Event');
    }
  }
}
