// The shared informers' cache against a real API server: objects are held
// without metadata.managedFields (server-side apply's field ownership, which
// nothing in metalgate reads), whether they arrived in the first list or
// through the watch, while the API server keeps them.
import pino from 'pino';
import { afterAll, expect, test } from 'vitest';
import { mergePatch, productClient } from '../../support/kube-config.ts';
import { SharedInformers } from '../../../src/kube/shared-informers.ts';
import { createService, ensureNamespace, lbService, useCluster, waitFor } from '../helpers/cluster.ts';

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
  const onServer = await core.readNamespacedService({ name: 'listed', namespace: ns });
  expect(onServer.metadata?.managedFields?.length).toBeGreaterThan(0);

  await createService(core, lbService(ns, 'watched'));
  await waitFor(() => services.get('watched', ns) !== undefined, 'the watched Service in the cache');
  expect(services.get('watched', ns)?.metadata?.managedFields).toBeUndefined();

  await core.patchNamespacedService({ name: 'watched', namespace: ns, body: { metadata: { labels: { changed: 'yes' } } } }, mergePatch);
  await waitFor(() => services.get('watched', ns)?.metadata?.labels?.changed === 'yes', 'the label change in the cache');
  expect(services.get('watched', ns)?.metadata?.managedFields).toBeUndefined();
});
