// A list+watch cache that never gives up. client-node's informer stops on
// any error other than 410 Gone; an API server restart must not leave the
// controller blind, so this restarts it with capped backoff and reports
// health (synced, last error) for /readyz and the speaker's freeze logic.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { setTimeout as delay } from 'node:timers/promises';
import { errorText } from '../common/error-text.ts';

export interface ResilientInformer<T extends k8s.KubernetesObject> {
  readonly resource: string;
  /** Resolves after the first complete list. */
  synced(): Promise<void>;
  isSynced(): boolean;
  /** True while the watch is connected and the last (re)list succeeded. */
  isHealthy(): boolean;
  list(): ReadonlyArray<T>;
  get(name: string, namespace?: string): T | undefined;
  on(verb: 'add' | 'update' | 'delete', cb: (obj: T) => void): void;
  off(verb: 'add' | 'update' | 'delete', cb: (obj: T) => void): void;
  /** Called after every successful (re)list, with the whole list: a resync point. */
  onResync(cb: () => void): void;
  offResync(cb: () => void): void;
  stop(): Promise<void>;
}

export interface InformerOptions {
  labelSelector?: string;
  fieldSelector?: string;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export function startInformer<T extends k8s.KubernetesObject>(
  kc: k8s.KubeConfig,
  path: string,
  listFn: () => Promise<k8s.KubernetesListObject<T>>,
  log: Logger,
  opts: InformerOptions = {},
): ResilientInformer<T> {
  const minBackoff = opts.minBackoffMs ?? 250;
  const maxBackoff = opts.maxBackoffMs ?? 5000;
  let backoff = minBackoff;
  let stopped = false;
  let isSynced = false;
  let healthy = false;
  let restartTimer: NodeJS.Timeout | undefined;
  const resyncCallbacks: Array<() => void> = [];
  let resolveSynced!: () => void;
  const syncedPromise = new Promise<void>((r) => (resolveSynced = r));

  const wrappedList = async (): Promise<k8s.KubernetesListObject<T>> => {
    const list = await listFn();
    for (const item of list.items) dropManagedFields(item);
    // The list is applied by the informer right after this resolves; defer
    // the resync notification until the cache holds it.
    setImmediate(() => {
      healthy = true;
      backoff = minBackoff;
      if (!isSynced) {
        isSynced = true;
        resolveSynced();
      }
      for (const cb of resyncCallbacks) cb();
    });
    return list;
  };
  // ListWatch directly: makeInformer does not take a field selector.
  // client-node doubles its reconnect delay after every watch that ends
  // without an event, up to 30 s: a quiet watch (the config ConfigMap) that
  // the server closes would see changes up to 30 s late. Cap it.
  const maxReconnectMs = opts.maxBackoffMs ?? 5000;
  const informer = new k8s.ListWatch<T>(path, new LeanWatch(kc), wrappedList, false, opts.labelSelector, opts.fieldSelector, {
    delayFn: (ms: number) => delay(Math.min(ms, maxReconnectMs)),
  });
  informer.on('error', (err: unknown) => {
    healthy = false;
    if (stopped) return;
    log.warn({ resource: path, err: errorText(err), retryInMs: backoff }, 'watch failed; restarting');
    clearTimeout(restartTimer);
    restartTimer = setTimeout(() => {
      if (!stopped) informer.start().catch(() => {});
    }, backoff);
    backoff = Math.min(backoff * 2, maxBackoff);
  });
  informer.start().catch(() => {});

  return {
    resource: path,
    synced: () => syncedPromise,
    isSynced: () => isSynced,
    isHealthy: () => healthy,
    list: () => informer.list(),
    get: (name, namespace) => informer.get(name, namespace),
    on(verb, cb) {
      informer.on(verb, cb as k8s.ObjectCallback<T>);
    },
    off(verb, cb) {
      informer.off(verb, cb as k8s.ObjectCallback<T>);
    },
    onResync(cb) {
      resyncCallbacks.push(cb);
    },
    offResync(cb) {
      const i = resyncCallbacks.indexOf(cb);
      if (i >= 0) resyncCallbacks.splice(i, 1);
    },
    async stop() {
      stopped = true;
      clearTimeout(restartTimer);
      await informer.stop();
    },
  };
}

/**
 * Server-side apply's field ownership: nothing here reads it, and it is
 * often the largest part of an object (an entry per manager that ever wrote
 * it, each with a tree of the fields it owns). The cache keeps objects
 * without it, as client-go's informers are commonly told to.
 */
function dropManagedFields<T extends k8s.KubernetesObject>(obj: T): T {
  if (obj?.metadata?.managedFields !== undefined) delete obj.metadata.managedFields;
  return obj;
}

/** client-node's watch, with managedFields dropped from every object it delivers. */
class LeanWatch extends k8s.Watch {
  override watch(...[path, query, callback, done]: Parameters<k8s.Watch['watch']>): ReturnType<k8s.Watch['watch']> {
    return super.watch(path, query, (phase, obj, watchObj) => callback(phase, dropManagedFields(obj as k8s.KubernetesObject), watchObj), done);
  }
}
