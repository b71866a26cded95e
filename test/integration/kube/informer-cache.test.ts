// The shared informers' cache against a real API server: objects are held
// without metadata.managedFields (server-side apply's field ownership) and
// without kubectl apply's last-applied-configuration annotation, which
// nothing in metalgate reads, whether they arrived in the first list or
// through the watch, while the API server keeps them.
import { setFlagsFromString } from 'node:v8';
import pino from 'pino';
import { afterAll, expect, test } from 'vitest';
import { mergePatch, productClient } from '../../support/kube-config.ts';
import { SharedInformers } from '../../../src/kube/shared-informers.ts';
import { createService, ensureNamespace, lbService, useCluster, waitFor } from '../helpers/cluster.ts';

// Whether V8 holds an object's properties in its fast layout: an object a
// property was deleted from is a hash table, several hundred bytes larger.
setFlagsFromString('--allow-natives-syntax');
const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;

const cluster = useCluster();
const ns = 'informer-cache';
let view: SharedInformers | undefined;

afterAll(async () => {
  await view?.stop();
});

test('cached objects carry no managedFields; the API server still has them', async () => {
  const { core, kc } = cluster();
  await ensureNamespace(core, ns);
  await createService(core, lbService(ns, 'listed'));
  view = new SharedInformers(productClient(kc), pino({ level: 'silent' }));
  const services = view.services();
  await services.synced();

  const listed = services.get('listed', ns);
  expect(listed?.metadata?.name).toBe('listed');
  expect(listed?.metadata?.managedFields).toBeUndefined();
  expect(hasFastProperties(listed!.metadata!)).toBe(true);
  const onServer = await core.readNamespacedService({ name: 'listed', namespace: ns });
  expect(onServer.metadata?.managedFields?.length).toBeGreaterThan(0);

  await createService(core, lbService(ns, 'watched'));
  await waitFor(() => services.get('watched', ns) !== undefined, 'the watched Service in the cache');
  expect(services.get('watched', ns)?.metadata?.managedFields).toBeUndefined();

  await core.patchNamespacedService({ name: 'watched', namespace: ns, body: { metadata: { labels: { changed: 'yes' } } } }, mergePatch);
  await waitFor(() => services.get('watched', ns)?.metadata?.labels?.changed === 'yes', 'the label change in the cache');
  expect(services.get('watched', ns)?.metadata?.managedFields).toBeUndefined();

  // As kubectl apply leaves it: the annotation goes, the others stay.
  const applied = JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'watched', namespace: ns } });
  const annotations = { 'kubectl.kubernetes.io/last-applied-configuration': applied, 'example.com/kept': 'yes' };
  await core.patchNamespacedService({ name: 'watched', namespace: ns, body: { metadata: { annotations } } }, mergePatch);
  await waitFor(() => services.get('watched', ns)?.metadata?.annotations?.['example.com/kept'] === 'yes', 'the annotation change in the cache');
  expect(services.get('watched', ns)?.metadata?.annotations).toEqual({ 'example.com/kept': 'yes' });
  expect(hasFastProperties(services.get('watched', ns)!.metadata!)).toBe(true);
  expect(hasFastProperties(services.get('watched', ns)!.metadata!.annotations!)).toBe(true);
  const patched = await core.readNamespacedService({ name: 'watched', namespace: ns });
  expect(patched.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration']).toBe(applied);
});
