// The dependency rules of the code base, checked in `npm test`
// (test/unit/architecture/dependencies.test.ts). docs/architecture.md says
// why each exists.

/** Pure cores: decisions and codecs with no I/O, tested directly. */
const PURE_CORES = [
  '^src/ipam/',
  '^src/l2/(arp|bpf|checksum|ethernet|ip-bytes|mac|ndp)\\.ts$',
  '^src/speaker/(election|membership|ownership-diff|service-demand|announce-schedule|announce-rules|announce-interfaces|lease-annotations|conflicts|handover-forward)\\.ts$',
  '^src/ingress/(match|translate|compile|model)/',
  '^src/proxy/http1/',
  '^src/proxy/kernel/nft-script\\.ts$',
  '^src/proxy/config/',
  '^src/proxy/endpoints/(endpoint-index|endpoint-slots|endpoint-set|service-endpoints|affinity-table)\\.ts$',
  '^src/proxy/listeners/listen-plan\\.ts$',
  '^src/common/heap-reclaim-policy\\.ts$',
  '^src/config/(ip-range|pool-config|special-addresses|types|yaml-nodes|metallb-pools|metallb-l2)\\.ts$',
  '^src/kube/label-selector\\.ts$',
  '^src/kube/api/kubeconfig\\.ts$',
];

/** What does I/O: sockets, files, processes, the API server, netlink, the native addon. */
const IO_MODULES = [
  '^(node:)?(dgram|fs|fs/promises|child_process|http|https|http2|tls|cluster|dns|worker_threads)$',
  // Unanchored: a node_modules reached through a symbolic link resolves to a path outside the checkout.
  'node_modules/@kubernetes/client-node/',
  'node_modules/netlink/',
  '^src/kube/(client|events|informer|shared-informers|leader-election)\\.ts$',
  '^src/kube/api/kube-client\\.ts$',
  // fs and http, loaded by require.
  '^src/common/builtins\\.ts$',
  // netlink/types.ts holds message shapes and constants only.
  '^src/netlink/(?!types\\.ts$)',
  '^native/',
  '^src/native/',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'No import cycles, type-only ones included.', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'pure-cores-no-io',
      comment: 'A pure core imports no I/O module (type-only imports of API object shapes are fine).',
      severity: 'error',
      from: { path: PURE_CORES },
      to: { path: IO_MODULES, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'product-no-client-node',
      comment: 'The product takes only the API object types from @kubernetes/client-node: loading it costs a process 80 MiB (src/kube/api is the client).',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: 'node_modules/@kubernetes/client-node/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'product-not-test-support',
      comment: 'The product (src/) does not depend on test support or the demo.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: ['^test/', '^demo/'] },
    },
    {
      name: 'proxy-not-speaker',
      comment: 'The proxy serves a configuration; it does not reach into the speaker (the speaker composes the proxy, not the reverse).',
      severity: 'error',
      from: { path: '^src/proxy/' },
      to: { path: '^src/speaker/' },
    },
    {
      name: 'ingress-not-speaker-or-controller',
      comment: 'The rule engine knows nothing of the speaker or the controller.',
      severity: 'error',
      from: { path: '^src/ingress/' },
      to: { path: ['^src/speaker/', '^src/controller/'] },
    },
    {
      name: 'controller-not-node-side',
      comment: 'The controller shares the view code (src/kube), not the node side.',
      severity: 'error',
      from: { path: '^src/controller/' },
      to: { path: ['^src/speaker/', '^src/proxy/', '^src/ingress/'] },
    },
    {
      name: 'builtins-by-require',
      comment: 'node:fs, node:http, node:http2 and node:util come from src/common/builtins.ts, by require (node:http2 at its first use): an ES import of them loads 30-76 internal modules more (undici, http2, readline), in every thread.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/common/builtins\\.ts$' },
      to: { path: '^(node:)?(fs|http|http2|util)$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'prom-client-by-file',
      comment: "prom-client's classes come from src/common/prom-classes.ts and its process metrics from process-metrics.ts: its index also loads @opentelemetry/api, the Pushgateway (node:http, node:https) and its default metrics, 3-11 MiB per thread.",
      severity: 'error',
      from: { path: '^src/' },
      to: { path: 'node_modules/prom-client/index\\.js$', dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    // TypeScript 7's compiler API is not one dependency-cruiser can use; swc parses the sources.
    parser: 'swc',
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] },
  },
};
