// The controller and the speaker run as the ServiceAccounts the manifests
// create - TokenRequest tokens, nothing but RBAC and the Lease policy between
// them and the API - do their work, and are refused what they should not do.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from '../../support/control-plane.ts';
import { apiStatus } from '../../../src/kube/client.ts';
import { mergePatch } from '../../support/kube-config.ts';
import {
  createService,
  ensureNamespace,
  eventsFor,
  lbService,
  useCluster,
  waitFor,
  waitForEvent,
  waitForIPs,
} from '../helpers/cluster.ts';
import {
  canIAll,
  flagDefaults,
  installTraefikCrds,
  kubectlOk,
  manifestsDir,
  NAMESPACE,
  refusal,
  serviceAccountCredentials,
  startCli,
  statusOf,
  type CliProcess,
} from './helpers.ts';

const cluster = useCluster();
const APPS = 'apps';

beforeAll(async () => {
  const { cp, core } = cluster();
  // As a user would: a server-side dry run first, then for real.
  const dry = await kubectlOk(cp, ['apply', '--dry-run=server', '-k', manifestsDir]);
  expect(dry).toContain('deployment.apps/metalgate-controller created (server dry run)');
  await kubectlOk(cp, ['apply', '-k', manifestsDir]);
  await ensureNamespace(core, APPS);
  // So that kubectl can name the Traefik resources the proxy's role grants.
  await installTraefikCrds(cp);
});

let running: CliProcess[] = [];
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop(2000)));
});

function start(args: string[], env: Record<string, string>): CliProcess {
  const p = startCli(args, { METALGATE_LOG_FORMAT: 'json', METALGATE_METRICS_ADDRESS: '127.0.0.1', ...env });
  running.push(p);
  return p;
}

async function stop(p: CliProcess): Promise<number | null> {
  running = running.filter((q) => q !== p);
  return p.stop();
}

async function waitReady(port: number, p: CliProcess): Promise<void> {
  try {
    await waitFor(async () => p.child.exitCode === null && (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 'readyz', 30_000, 100);
  } catch (err) {
    throw new Error(`${(err as Error).message}; exit code ${p.child.exitCode}; output:\n${p.output()}`);
  }
}

/** No API call of the component was refused (RBAC or admission) while it worked. */
function expectNoRefusals(p: CliProcess): void {
  const refused = p.output().split('\n').filter((l) => /forbidden|HTTP 403|HTTP 401|unauthorized/i.test(l));
  expect(refused).toEqual([]);
}

function ipToBigInt(ip: string): bigint {
  return ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(o), 0n);
}

function lease(name: string, namespace = NAMESPACE): k8s.V1Lease {
  return { metadata: { name, namespace, labels: { 'app.kubernetes.io/component': 'speaker' } }, spec: { holderIdentity: name, leaseDurationSeconds: 2 } };
}

async function readLease(coordination: k8s.CoordinationV1Api, name: string): Promise<k8s.V1Lease | undefined> {
  try {
    return await coordination.readNamespacedLease({ name, namespace: NAMESPACE });
  } catch (err) {
    if (apiStatus(err) === 404) return undefined;
    throw err;
  }
}

async function ensureLease(coordination: k8s.CoordinationV1Api, name: string): Promise<void> {
  if (!(await readLease(coordination, name))) await coordination.createNamespacedLease({ namespace: NAMESPACE, body: lease(name) });
}

describe('controller as metalgate-controller', () => {
  test('assigns IPs from the example pool, writes Events (created and counted), holds the leader Lease', async () => {
    const { cp, core, coordination } = cluster();
    const creds = await serviceAccountCredentials(cp, 'metalgate-controller');
    const port = await freePort();
    // The environment the Deployment gives it.
    const podName = 'metalgate-controller-6b9d7c5f4-x2x7q';
    const ctl = start(['controller', '--kubeconfig', creds.kubeconfigPath], {
      POD_NAME: podName,
      POD_NAMESPACE: NAMESPACE,
      METALGATE_METRICS_PORT: String(port),
    });
    await waitReady(port, ctl);

    // The entrypoint Service of the manifests takes the pool's first address.
    expect(await waitForIPs(core, NAMESPACE, 'metalgate-ingress')).toEqual(['198.18.0.200']);
    await createService(core, lbService(APPS, 'web'));
    const [ip] = await waitForIPs(core, APPS, 'web');
    expect(ipToBigInt(ip!)).toBeGreaterThan(ipToBigInt('198.18.0.200'));
    expect(ipToBigInt(ip!)).toBeLessThanOrEqual(ipToBigInt('198.18.0.250'));
    const web = await core.readNamespacedService({ name: 'web', namespace: APPS });
    expect(web.status?.loadBalancer?.ingress?.[0]?.ipMode).toBe('Proxy');
    expect((await waitForEvent(core, APPS, 'Service', 'web', 'IPAllocated')).message).toContain(ip!);
    await waitForEvent(core, NAMESPACE, 'Service', 'metalgate-ingress', 'IPAllocated');

    // The leader Lease, under the Pod's name.
    const held = await waitFor(async () => (await readLease(coordination, 'metalgate-controller'))?.spec?.holderIdentity, 'leader Lease');
    expect(held).toBe(podName);

    // A second identical Event is a patch of the first (count 2): change the
    // ConfigMap's text but not its pools, so ConfigLoaded repeats.
    await waitForEvent(core, NAMESPACE, 'ConfigMap', 'config', 'ConfigLoaded');
    const cm = await core.readNamespacedConfigMap({ name: 'config', namespace: NAMESPACE });
    await core.patchNamespacedConfigMap(
      { name: 'config', namespace: NAMESPACE, body: { data: { config: `# edited\n${cm.data!.config}` } } },
      mergePatch,
    );
    await waitFor(
      async () => (await eventsFor(core, NAMESPACE, 'ConfigMap', 'config')).find((e) => e.reason === 'ConfigLoaded' && e.count === 2),
      'ConfigLoaded Event counted twice',
    );

    expectNoRefusals(ctl);
    expect(await stop(ctl)).toBe(0);
    expect(ctl.output()).toContain('released leadership');
    expectNoRefusals(ctl);
  });

  test('kubectl auth can-i: what it uses and nothing else', async () => {
    const { cp } = cluster();
    const ns = `-n ${NAMESPACE}`;
    const allowed = [
      'list services',
      'watch services',
      'patch services --subresource=status',
      'patch services',
      'list namespaces',
      'watch namespaces',
      'list ipaddresspools.metallb.io',
      'watch ipaddresspools.metallb.io',
      'patch ipaddresspools.metallb.io --subresource=status',
      'create events',
      'patch events',
      `list configmaps/config ${ns}`,
      `watch configmaps/config ${ns}`,
      `get leases.coordination.k8s.io/metalgate-controller ${ns}`,
      `update leases.coordination.k8s.io/metalgate-controller ${ns}`,
      `create leases.coordination.k8s.io ${ns}`,
    ];
    const refused = [
      'list secrets',
      `get secrets ${ns}`,
      'update services',
      'create services',
      'patch namespaces',
      'patch ipaddresspools.metallb.io',
      'update ipaddresspools.metallb.io',
      'create ipaddresspools.metallb.io',
      'delete ipaddresspools.metallb.io',
      'list l2advertisements.metallb.io',
      'delete services',
      'update services --subresource=status',
      `list configmaps ${ns}`,
      `get configmaps/config ${ns}`,
      `get configmaps/kube-root-ca.crt ${ns}`,
      `update configmaps/config ${ns}`,
      'list configmaps -n default',
      'create leases.coordination.k8s.io -n default',
      'update leases.coordination.k8s.io/metalgate-controller -n kube-system',
      `update leases.coordination.k8s.io/node-a ${ns}`,
      `delete leases.coordination.k8s.io/metalgate-controller ${ns}`,
      `list leases.coordination.k8s.io ${ns}`,
      'list pods',
      `create pods -n ${APPS}`,
      'list nodes',
      'list endpointslices.discovery.k8s.io',
      'list ingresses.networking.k8s.io',
      'delete events',
    ];
    expect(await canIAll(cp, 'metalgate-controller', allowed)).toEqual(allowed.map((q) => `${q}: yes`));
    expect(await canIAll(cp, 'metalgate-controller', refused)).toEqual(refused.map((q) => `${q}: no`));
  });

  test('its token is refused Secrets, Service spec writes, other Leases and ConfigMaps', async () => {
    const { cp, core, coordination } = cluster();
    const { kc } = await serviceAccountCredentials(cp, 'metalgate-controller');
    const asCore = kc.makeApiClient(k8s.CoreV1Api);
    const asCoordination = kc.makeApiClient(k8s.CoordinationV1Api);
    await createService(core, lbService(APPS, 'guarded')).catch(() => {});
    await ensureLease(coordination, 'node-z');

    expect(await statusOf(asCore.listSecretForAllNamespaces())).toBe(403);
    expect(await statusOf(asCore.readNamespacedSecret({ name: 'anything', namespace: NAMESPACE }))).toBe(403);
    expect(
      await statusOf(asCore.patchNamespacedService({ name: 'guarded', namespace: APPS, body: { spec: { loadBalancerIP: '198.18.0.222' } } }, mergePatch)),
    ).toBe(403);
    // RBAC grants `patch services` for one annotation; the admission policy
    // (13-controller-service-policy.yaml) refuses every other change.
    const patch = (body: object) => statusOf(asCore.patchNamespacedService({ name: 'guarded', namespace: APPS, body }, mergePatch));
    expect(await patch({ metadata: { annotations: { 'metallb.io/ip-allocated-from-pool': 'lan' } } })).toBe(200);
    expect(await patch({ metadata: { annotations: { 'example.com/other': 'x' } } })).toBe(403);
    expect(await patch({ metadata: { annotations: { 'metallb.io/ip-allocated-from-pool': null } } })).toBe(200);
    expect(await patch({ metadata: { labels: { app: 'hijacked' } } })).toBe(403);
    expect(await patch({ metadata: { finalizers: ['example.com/hold'] } })).toBe(403);
    expect(await patch({ spec: { selector: { app: 'elsewhere' } } })).toBe(403);
    expect(await statusOf(asCore.deleteNamespacedService({ name: 'guarded', namespace: APPS }))).toBe(403);
    expect(await statusOf(asCore.listNamespacedConfigMap({ namespace: NAMESPACE }))).toBe(403);
    expect(await statusOf(asCore.patchNamespacedConfigMap({ name: 'config', namespace: NAMESPACE, body: { data: { config: '' } } }, mergePatch))).toBe(403);
    expect(await statusOf(asCoordination.createNamespacedLease({ namespace: 'default', body: lease('metalgate-controller', 'default') }))).toBe(403);
    expect(await statusOf(asCoordination.readNamespacedLease({ name: 'node-z', namespace: NAMESPACE }))).toBe(403);
    const other = await coordination.readNamespacedLease({ name: 'node-z', namespace: NAMESPACE });
    expect(await statusOf(asCoordination.replaceNamespacedLease({ name: 'node-z', namespace: NAMESPACE, body: other }))).toBe(403);
    expect(await statusOf(asCoordination.deleteNamespacedLease({ name: 'metalgate-controller', namespace: NAMESPACE }))).toBe(403);
    expect(await statusOf(asCore.listPodForAllNamespaces())).toBe(403);
    // The same token may do its job: read what it watches, write a status.
    expect(await statusOf(asCore.listServiceForAllNamespaces())).toBe(200);
    expect(await statusOf(asCore.listNamespacedConfigMap({ namespace: NAMESPACE, fieldSelector: 'metadata.name=config' }))).toBe(200);
  });
});

describe('speaker as metalgate-speaker', () => {
  /** Pods as the kubelet would run them, so tokens can be bound to a Pod on a node. */
  async function speakerPod(core: k8s.CoreV1Api, name: string, nodeName: string): Promise<void> {
    const exists = (e: unknown) => (apiStatus(e) === 409 ? undefined : Promise.reject(e));
    await core.createNode({ body: { metadata: { name: nodeName } } }).catch(exists);
    await core
      .createNamespacedPod({
        namespace: NAMESPACE,
        body: {
          metadata: { name, namespace: NAMESPACE },
          spec: { nodeName, serviceAccountName: 'metalgate-speaker', containers: [{ name: 'speaker', image: 'ghcr.io/metalgate/metalgate:0.1.0' }] },
        },
      })
      .catch(exists);
  }

  async function setIps(core: k8s.CoreV1Api, namespace: string, name: string, ip: string): Promise<void> {
    await core.patchNamespacedServiceStatus(
      { name, namespace, body: { status: { loadBalancer: { ingress: [{ ip, ipMode: 'Proxy' }] } } } },
      mergePatch,
    );
  }

  test('keeps its Lease, reads Nodes, Services and EndpointSlices, writes Events; a clean stop deletes its Lease', async () => {
    const { cp, core, coordination } = cluster();
    await speakerPod(core, 'metalgate-speaker-a', 'node-a');
    // A Local Service: node-a is eligible only through its EndpointSlice.
    await createService(core, lbService(APPS, 'local', { externalTrafficPolicy: 'Local' }));
    await setIps(core, APPS, 'local', '198.18.0.240');
    await cluster().kc.makeApiClient(k8s.DiscoveryV1Api).createNamespacedEndpointSlice({
      namespace: APPS,
      body: {
        metadata: { name: 'local-a', namespace: APPS, labels: { 'kubernetes.io/service-name': 'local' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['198.18.1.10'], conditions: { ready: true }, nodeName: 'node-a' }],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    });
    // The entrypoint, with the IP the controller gives it (written here so this test stands alone).
    await setIps(core, NAMESPACE, 'metalgate-ingress', '198.18.0.200');

    // The token a Pod on node-a gets: bound to the Pod, so it names the node.
    const creds = await serviceAccountCredentials(cp, 'metalgate-speaker', { boundPod: 'metalgate-speaker-a' });
    const port = await freePort();
    // Election only: no holder device, no packet sockets on this host (the lab tests cover them).
    const flags = await flagDefaults('speaker');
    if (!flags.has('dataplane')) throw new Error('metalgate speaker has no --dataplane flag: refusing to run its dataplane on the host');
    const speaker = start(['speaker', '--kubeconfig', creds.kubeconfigPath, '--no-dataplane', '--l4-dataplane', 'proxy'], {
      NODE_NAME: 'node-a',
      POD_NAMESPACE: NAMESPACE,
      METALGATE_METRICS_PORT: String(port),
    });
    await waitReady(port, speaker);

    const own = await waitFor(() => readLease(coordination, 'node-a'), 'speaker Lease node-a');
    expect(own.spec?.holderIdentity).toBe('node-a');
    expect(own.metadata?.labels?.['app.kubernetes.io/component']).toBe('speaker');
    const renewed = own.spec!.renewTime;
    await waitFor(async () => (await readLease(coordination, 'node-a'))?.spec?.renewTime !== renewed, 'a Lease renewal');

    const local = await waitForEvent(core, APPS, 'Service', 'local', 'nodeAssigned');
    expect(local.message).toBe('announcing 198.18.0.240 from node node-a');
    const entry = await waitForEvent(core, NAMESPACE, 'Service', 'metalgate-ingress', 'nodeAssigned');
    expect(entry.message).toBe('announcing 198.18.0.200 from node node-a');

    expectNoRefusals(speaker);
    expect(await stop(speaker)).toBe(0);
    expect(speaker.output()).toContain('deleted speaker Lease');
    expect(await readLease(coordination, 'node-a')).toBeUndefined();
    expectNoRefusals(speaker);
  });

  test('kubectl auth can-i: what the speaker and its proxy use and nothing else', async () => {
    const { cp } = cluster();
    const ns = `-n ${NAMESPACE}`;
    const allowed = [
      'list nodes',
      'watch nodes',
      'list services',
      'watch services',
      'list endpointslices.discovery.k8s.io',
      'watch endpointslices.discovery.k8s.io',
      'create events',
      'patch events',
      `list leases.coordination.k8s.io ${ns}`,
      `watch leases.coordination.k8s.io ${ns}`,
      `create leases.coordination.k8s.io ${ns}`,
      `patch leases.coordination.k8s.io/node-a ${ns}`,
      `delete leases.coordination.k8s.io/node-a ${ns}`,
      // MetalLB's objects: which nodes announce a pool; ServiceL2Status of what this node announces.
      'list ipaddresspools.metallb.io',
      'watch ipaddresspools.metallb.io',
      'list l2advertisements.metallb.io',
      'watch l2advertisements.metallb.io',
      `list servicel2statuses.metallb.io ${ns}`,
      `create servicel2statuses.metallb.io ${ns}`,
      `delete servicel2statuses.metallb.io ${ns}`,
      `patch servicel2statuses.metallb.io ${ns} --subresource=status`,
      // The proxy's ingress (ClusterRole metalgate-speaker-ingress).
      'list secrets',
      'watch secrets',
      'list configmaps',
      'watch configmaps',
      'list ingresses.networking.k8s.io',
      'watch ingresses.networking.k8s.io',
      'patch ingresses.networking.k8s.io --subresource=status',
      'list ingressclasses.networking.k8s.io',
      'watch ingressclasses.networking.k8s.io',
      ...['traefik.io', 'traefik.containo.us'].flatMap((g) =>
        ['ingressroutes', 'middlewares', 'traefikservices', 'serverstransports', 'tlsoptions', 'tlsstores', 'ingressroutetcps', 'ingressrouteudps', 'middlewaretcps'].flatMap((r) => [`list ${r}.${g}`, `watch ${r}.${g}`]),
      ),
    ];
    const refused = [
      'patch services --subresource=status',
      'update services --subresource=status',
      'update services',
      'delete services',
      'patch nodes',
      'patch nodes --subresource=status',
      `create pods -n ${APPS}`,
      'list pods',
      'create endpointslices.discovery.k8s.io',
      `create configmaps ${ns}`,
      `update configmaps -n ${APPS}`,
      `get secrets -n ${APPS}`,
      `create secrets -n ${APPS}`,
      `update secrets -n ${APPS}`,
      'update ingresses.networking.k8s.io',
      'update ingresses.networking.k8s.io --subresource=status',
      `create ingressroutes.traefik.io -n ${APPS}`,
      `get leases.coordination.k8s.io/node-a ${ns}`,
      `update leases.coordination.k8s.io/node-a ${ns}`,
      'create leases.coordination.k8s.io -n default',
      'delete leases.coordination.k8s.io -n kube-system',
      'delete events',
      'patch ipaddresspools.metallb.io --subresource=status',
      'create l2advertisements.metallb.io -n metallb-system',
      `create servicel2statuses.metallb.io -n ${APPS}`,
      `update servicel2statuses.metallb.io ${ns}`,
    ];
    expect(await canIAll(cp, 'metalgate-speaker', allowed)).toEqual(allowed.map((q) => `${q}: yes`));
    expect(await canIAll(cp, 'metalgate-speaker', refused)).toEqual(refused.map((q) => `${q}: no`));
  });

  test("its token is refused Service status, Pods, and every Lease but its own node's", async () => {
    const { cp, core, coordination } = cluster();
    await speakerPod(core, 'metalgate-speaker-a', 'node-a');
    await speakerPod(core, 'metalgate-speaker-b', 'node-b');
    await ensureLease(coordination, 'node-b');
    await ensureLease(coordination, 'metalgate-controller');
    await createService(core, lbService(APPS, 'guarded-s')).catch(() => {});
    const { kc } = await serviceAccountCredentials(cp, 'metalgate-speaker', { boundPod: 'metalgate-speaker-a' });
    const asCore = kc.makeApiClient(k8s.CoreV1Api);
    const asCoordination = kc.makeApiClient(k8s.CoordinationV1Api);

    const statusWrite = await refusal(
      asCore.patchNamespacedServiceStatus(
        { name: 'guarded-s', namespace: APPS, body: { status: { loadBalancer: { ingress: [{ ip: '198.18.0.230' }] } } } },
        mergePatch,
      ),
    );
    expect(statusWrite.status).toBe(403);
    expect(statusWrite.message).toContain('cannot patch resource "services/status"');
    expect(
      await statusOf(
        asCore.createNamespacedPod({ namespace: APPS, body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } }),
      ),
    ).toBe(403);
    // ConfigMaps are read (custom-headers), never written.
    expect(await statusOf(asCore.createNamespacedConfigMap({ namespace: NAMESPACE, body: { metadata: { name: 'x' }, data: { a: 'b' } } }))).toBe(403);
    expect(await statusOf(asCore.patchNode({ name: 'node-a', body: { metadata: { labels: { x: 'y' } } } }, mergePatch))).toBe(403);
    expect(await statusOf(asCoordination.createNamespacedLease({ namespace: 'default', body: lease('node-a', 'default') }))).toBe(403);

    // Another speaker's Lease, and the controller's: refused by the policy.
    const deleteOther = await refusal(asCoordination.deleteNamespacedLease({ name: 'node-b', namespace: NAMESPACE }));
    expect(deleteOther.status).toBe(403);
    expect(deleteOther.message).toContain("ValidatingAdmissionPolicy 'metalgate-speaker-own-lease'");
    expect(deleteOther.message).toContain('the speaker of node node-a may write only the Lease node-a, not node-b');
    expect(
      await statusOf(asCoordination.patchNamespacedLease({ name: 'node-b', namespace: NAMESPACE, body: { spec: { holderIdentity: 'node-a' } } }, mergePatch)),
    ).toBe(403);
    expect(await statusOf(asCoordination.createNamespacedLease({ namespace: NAMESPACE, body: lease('node-c') }))).toBe(403);
    expect(await statusOf(asCoordination.deleteNamespacedLease({ name: 'metalgate-controller', namespace: NAMESPACE }))).toBe(403);
    expect(await readLease(coordination, 'node-b')).toBeDefined();

    // Its own: create, renew, delete.
    if (await readLease(coordination, 'node-a')) await coordination.deleteNamespacedLease({ name: 'node-a', namespace: NAMESPACE });
    expect(await statusOf(asCoordination.createNamespacedLease({ namespace: NAMESPACE, body: lease('node-a') }))).toBe(200);
    expect(
      await statusOf(asCoordination.patchNamespacedLease({ name: 'node-a', namespace: NAMESPACE, body: { spec: { leaseDurationSeconds: 3 } } }, mergePatch)),
    ).toBe(200);
    expect(await statusOf(asCoordination.deleteNamespacedLease({ name: 'node-a', namespace: NAMESPACE }))).toBe(200);
  });

  test('a token that names no node (not bound to a Pod) is confined by RBAC alone', async () => {
    const { cp, coordination } = cluster();
    await ensureLease(coordination, 'node-y');
    const { kc } = await serviceAccountCredentials(cp, 'metalgate-speaker', { file: 'kubeconfig-speaker-unbound' });
    const asCoordination = kc.makeApiClient(k8s.CoordinationV1Api);
    // Documented in 12-speaker-lease-policy.yaml: the policy lets it through...
    expect(await statusOf(asCoordination.deleteNamespacedLease({ name: 'node-y', namespace: NAMESPACE }))).toBe(200);
    // ...RBAC still keeps it to Leases in metalgate-system.
    expect(await statusOf(asCoordination.createNamespacedLease({ namespace: 'kube-system', body: lease('node-y', 'kube-system') }))).toBe(403);
  });
});
