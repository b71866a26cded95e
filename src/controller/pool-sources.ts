// The address pools in force, from both their sources: the legacy ConfigMap
// (`address-pools`, as MetalLB before 0.13 read it) and MetalLB's IPAddressPool
// objects (metallb.io/v1beta1). A thin adapter: informers in, the pure
// resolvePools (config/metallb-pools.ts) in the middle, Events and a callback
// out. It is not the allocator, and it does not write pool status
// (pool-status.ts does, from the verdicts kept here).
//
// The IPAddressPool CRD is optional: while it is not installed the ConfigMap is
// the only source, and the CRD is looked for again every crdRetryMs. Namespace
// labels are watched for pools that select namespaces by label.

import type * as k8s from '@kubernetes/client-node';
import type { KubeClient } from '../kube/api/kube-client.ts';
import type { Logger } from 'pino';
import { DEFAULT_POOL_NAMESPACES, METALLB_GROUP, resolvePools, type IPAddressPoolObject, type PoolVerdict } from '../config/metallb-pools.ts';
import type { AddressPool, ConfigIssue } from '../config/types.ts';
import type { EventRecorder } from '../kube/events.ts';
import { startInformer, type ResilientInformer } from '../kube/informer.ts';
import type { Labels } from '../kube/label-selector.ts';
import { OptionalInformer } from '../kube/optional-informer.ts';
import type { ControllerMetrics } from './metrics.ts';

export const POOL_VERSION = 'v1beta1';
export const POOL_PLURAL = 'ipaddresspools';

export interface PoolSourcesOptions {
  configNamespace: string;
  configName: string;
  configKey: string;
  /** Where IPAddressPool objects are read from. */
  poolNamespaces?: readonly string[];
  /** How often to look for the IPAddressPool CRD while it is missing. */
  crdRetryMs?: number;
}

export type PoolObject = IPAddressPoolObject & k8s.KubernetesObject;
type ParsePoolConfig = typeof import('../config/pool-config.ts').parsePoolConfig;

/** pools: the pools in force; verdicts: only what is said about the objects; namespaces: a namespace's labels. */
export type PoolChange = 'pools' | 'verdicts' | 'namespaces';

export class PoolSources {
  readonly #kc: KubeClient;
  readonly #log: Logger;
  readonly #opts: PoolSourcesOptions;
  readonly #events: EventRecorder;
  readonly #metrics: ControllerMetrics;
  readonly #onChange: (what: PoolChange) => void;
  #configMaps!: ResilientInformer<k8s.V1ConfigMap>;
  #namespaces!: ResilientInformer<k8s.V1Namespace>;
  #poolObjects!: OptionalInformer<PoolObject>;
  #started = false;
  #stopped = false;

  /**
   * The ConfigMap's parser, loaded with the first ConfigMap to read: it
   * brings the YAML parser (3.7 MiB of a process's RSS), which a cluster
   * configured with IPAddressPool objects only never needs.
   */
  #parse: ParsePoolConfig | undefined;
  /** The ConfigMap's last good pools. */
  #legacy: AddressPool[] = [];
  #lastConfigText: string | undefined;
  /** resolvePools' `good`, fed back as `lastGood`. */
  #good = new Map<string, AddressPool>();
  #pools: AddressPool[] = [];
  #fingerprint = '';
  #verdicts: PoolVerdict[] = [];
  /** What was last said about each object and about the ConfigMap's replaced pools, so a resync repeats nothing. */
  readonly #told = new Map<string, string>();
  #toldReplaced = '';

  constructor(kc: KubeClient, log: Logger, opts: PoolSourcesOptions, events: EventRecorder, metrics: ControllerMetrics, onChange: (what: PoolChange) => void) {
    this.#kc = kc;
    this.#log = log;
    this.#opts = opts;
    this.#events = events;
    this.#metrics = metrics;
    this.#onChange = onChange;
  }

  start(): void {
    const { configNamespace, configName } = this.#opts;
    this.#configMaps = startInformer<k8s.V1ConfigMap>(
      this.#kc,
      `/api/v1/namespaces/${configNamespace}/configmaps`,
      undefined,
      this.#log,
      { fieldSelector: `metadata.name=${configName}` },
    );
    this.#namespaces = startInformer<k8s.V1Namespace>(this.#kc, '/api/v1/namespaces', undefined, this.#log);
    this.#poolObjects = new OptionalInformer<PoolObject>(
      this.#kc,
      this.#log,
      { group: METALLB_GROUP, version: POOL_VERSION, plural: POOL_PLURAL },
      (path, list) => startInformer(this.#kc, path, list, this.#log),
      this.#opts.crdRetryMs,
    );
    this.#poolObjects.start((inf) => {
      this.#log.info(`reading IPAddressPool objects from ${(this.#opts.poolNamespaces ?? DEFAULT_POOL_NAMESPACES).join(', ')}`);
      if (!this.#started) return;
      this.#followPoolObjects(inf);
      this.#recompute();
    });
  }

  /** Resolves once every source has been read once. */
  async synced(): Promise<void> {
    await Promise.all([this.#configMaps.synced(), this.#namespaces.synced(), this.#poolObjects.settled()]);
    if (this.#configText() !== undefined) await this.#loadParser();
  }

  /** After synced(): computes the pools and starts following changes. */
  follow(): void {
    this.#started = true;
    this.#loadConfigMap();
    this.#recompute();
    const onConfig = (): void => {
      if (this.#parse === undefined && this.#configText() !== undefined) {
        this.#loadParser().then(onConfig, (err: unknown) => this.#log.error({ err }, 'could not load the ConfigMap parser'));
        return;
      }
      if (this.#loadConfigMap()) this.#recompute();
    };
    for (const verb of ['add', 'update', 'delete'] as const) this.#configMaps.on(verb, onConfig);
    this.#configMaps.onResync(onConfig);
    // A namespace's labels only matter to Services still waiting for an IP.
    const onNamespace = () => this.#onChange('namespaces');
    for (const verb of ['add', 'update'] as const) this.#namespaces.on(verb, onNamespace);
    const objects = this.#poolObjects.informer;
    if (objects?.isSynced()) this.#followPoolObjects(objects);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#poolObjects?.stop();
    await Promise.all([this.#configMaps?.stop(), this.#namespaces?.stop(), this.#poolObjects?.informer?.stop()]);
  }

  pools(): readonly AddressPool[] {
    return this.#pools;
  }

  verdicts(): readonly PoolVerdict[] {
    return this.#verdicts;
  }

  namespaceLabels(namespace: string): Labels | undefined {
    return this.#namespaces.get(namespace)?.metadata?.labels;
  }

  /** True when the IPAddressPool CRD is installed and its objects are read. */
  get readsPoolObjects(): boolean {
    return this.#poolObjects.informer !== undefined;
  }

  #followPoolObjects(inf: ResilientInformer<PoolObject>): void {
    let queued = false;
    // A burst (kubectl apply -f of many pools) is resolved once.
    const onPool = () => {
      if (queued) return;
      queued = true;
      setImmediate(() => {
        queued = false;
        this.#recompute();
      });
    };
    for (const verb of ['add', 'update', 'delete'] as const) inf.on(verb, onPool);
    inf.onResync(onPool);
  }

  /** The ConfigMap's text, if it exists and has the key. */
  #configText(): string | undefined {
    const { configNamespace, configName, configKey } = this.#opts;
    return this.#configMaps.get(configName, configNamespace)?.data?.[configKey];
  }

  async #loadParser(): Promise<void> {
    this.#parse ??= (await import('../config/pool-config.ts')).parsePoolConfig;
  }

  /**
   * Reads the ConfigMap; true when its pools in force changed. Invalid text
   * keeps the last good pools. With text, only once the parser is loaded.
   */
  #loadConfigMap(): boolean {
    const { configNamespace, configName, configKey } = this.#opts;
    const cm = this.#configMaps.get(configName, configNamespace);
    const text = cm?.data?.[configKey];
    if (text !== undefined && this.#parse === undefined) return false;
    const marker = cm ? (text ?? '\u0000missing-key') : '\u0000no-configmap';
    if (marker === this.#lastConfigText) return false;
    this.#lastConfigText = marker;
    const where = `${configNamespace}/${configName}`;
    if (!cm) {
      this.#log.info({ configmap: where }, 'no config ConfigMap: its pools are none, existing IPs are kept');
      this.#metrics.configStale.set(0);
      this.#metrics.configLoaded.set(0);
      this.#legacy = [];
      return true;
    }
    const target = { kind: 'ConfigMap', metadata: cm.metadata };
    let issues: ConfigIssue[];
    let pools: AddressPool[] | undefined;
    if (text === undefined) {
      issues = [{ severity: 'error', message: `ConfigMap ${where} has no key "${configKey}"` }];
    } else {
      const parsed = this.#parse!(text);
      issues = parsed.issues;
      pools = parsed.config?.pools;
    }
    for (const w of issues.filter((i) => i.severity === 'warning')) this.#log.warn({ configmap: where }, `config warning: ${w.message}`);
    if (!pools) {
      const errors = issues.filter((i) => i.severity === 'error').map((i) => i.message);
      this.#log.error({ configmap: where, errors }, 'invalid config: keeping the last good config in force');
      this.#metrics.configStale.set(1);
      this.#metrics.configReloadErrors.inc();
      this.#events.emit(target, 'Warning', 'ConfigInvalid', `invalid config, the last good config stays in force: ${errors.join('; ')}`);
      return false;
    }
    const warnings = issues.filter((i) => i.severity === 'warning').map((i) => i.message);
    if (warnings.length) this.#events.emit(target, 'Warning', 'ConfigWarning', warnings.join('; '));
    this.#metrics.configStale.set(0);
    this.#metrics.configLoaded.set(1);
    this.#log.info({ configmap: where, pools: pools.map((p) => p.name) }, 'config loaded');
    this.#events.emit(target, 'Normal', 'ConfigLoaded', `loaded ${pools.length} address pool(s): ${pools.map((p) => p.name).join(', ') || 'none'}`);
    this.#legacy = pools;
    return true;
  }

  #recompute(): void {
    if (this.#stopped) return;
    const objects = this.#poolObjects.informer?.list() ?? [];
    const r = resolvePools(this.#legacy, objects, { ...(this.#opts.poolNamespaces ? { namespaces: this.#opts.poolNamespaces } : {}), lastGood: this.#good });
    this.#good = r.good;
    this.#verdicts = r.verdicts;
    const told = this.#tell(r.verdicts, objects, r.replaced);
    this.#pools = r.pools;
    const fingerprint = fingerprintOf(r.pools);
    if (fingerprint === this.#fingerprint) {
      if (told) this.#onChange('verdicts');
      return;
    }
    this.#fingerprint = fingerprint;
    this.#log.info({ pools: r.pools.map((p) => p.name) }, 'address pools in force');
    this.#onChange('pools');
  }

  /** Events and log lines for what changed in the verdicts; true when anything did. */
  #tell(verdicts: readonly PoolVerdict[], objects: readonly PoolObject[], replaced: readonly string[]): boolean {
    let told = false;
    const byKey = new Map(objects.map((o) => [`${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`, o]));
    const live = new Set<string>();
    for (const v of verdicts) {
      live.add(v.key);
      const said = `${v.generation}\u0000${v.reason}\u0000${v.message}\u0000${v.warnings.join('\u0000')}`;
      if (this.#told.get(v.key) === said) continue;
      this.#told.set(v.key, said);
      told = true;
      const o = byKey.get(v.key);
      const target = { apiVersion: `${METALLB_GROUP}/${POOL_VERSION}`, kind: 'IPAddressPool', metadata: { name: v.name, namespace: v.namespace, ...(o?.metadata?.uid ? { uid: o.metadata.uid } : {}) } };
      const fields = { ipaddresspool: v.key, generation: v.generation, reason: v.reason };
      if (v.reason === 'Ready') {
        this.#log.info(fields, `IPAddressPool ${v.key}: ${v.message}`);
        this.#events.emit(target, 'Normal', 'PoolReady', v.message);
      } else {
        this.#log.warn(fields, `IPAddressPool ${v.key}: ${v.message}`);
        this.#events.emit(target, 'Warning', v.reason === 'KeptLastGood' ? 'PoolKeptLastGood' : 'PoolRefused', v.message);
      }
      for (const w of v.warnings) this.#events.emit(target, 'Warning', 'PoolWarning', w);
    }
    for (const key of this.#told.keys()) {
      if (live.has(key)) continue;
      this.#told.delete(key);
      told = true;
    }
    const replacedText = replaced.join(', ');
    if (replacedText !== this.#toldReplaced) {
      this.#toldReplaced = replacedText;
      const cm = this.#configMaps.get(this.#opts.configName, this.#opts.configNamespace);
      if (cm && replaced.length > 0) {
        this.#events.emit({ kind: 'ConfigMap', metadata: cm.metadata }, 'Normal', 'PoolsReplaced', `pool(s) ${replacedText} of this ConfigMap are replaced by the IPAddressPool objects of the same name`);
      }
    }
    return told;
  }
}

/** Equal for the same pools in the same order with the same settings. */
function fingerprintOf(pools: readonly AddressPool[]): string {
  return JSON.stringify(pools, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}
