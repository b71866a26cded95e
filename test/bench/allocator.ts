// Allocator benchmark: 100,000 Services into one pool and into 100 pools,
// release+reallocate churn, steady-state reconciles, restore, a config swap,
// and an IPv6 /64. Prints a table; asserts nothing.
//
//   node_modules/.bin/node --expose-gc test/bench/allocator.ts [services]
//
// With --expose-gc the heap figures are taken after a full collection, so
// "retained" is what the allocator keeps, not garbage.
import type { AddressPool, IpRange } from '../../src/config/types.ts';
import type { AllocationRequest } from '../../src/ipam/allocation-request.ts';
import { Allocator } from '../../src/ipam/allocator.ts';

const SERVICES = Number(process.argv[2] ?? 100_000);
const CHURN = Math.min(10_000, Math.floor(SERVICES / 10));
const BASE_V4 = 0xc6120000n; // 198.18.0.0
const BASE_V6 = 0x20010db8000000000000000000000000n; // 2001:db8::

const gc = (globalThis as { gc?: () => void }).gc;

interface Row {
  scenario: string;
  ops: number;
  totalMs: number;
  heapBeforeMb: number;
  heapAfterMb: number;
}

const rows: Row[] = [];

function heapMb(): number {
  gc?.();
  return process.memoryUsage().heapUsed / 1048576;
}

/** Times `run` (which performs `ops` operations) and records a row. */
function measure(scenario: string, ops: number, run: () => void): void {
  const before = heapMb();
  const start = process.hrtime.bigint();
  run();
  const totalMs = Number(process.hrtime.bigint() - start) / 1e6;
  rows.push({ scenario, ops, totalMs, heapBeforeMb: before, heapAfterMb: heapMb() });
}

function v4Range(first: bigint, size: bigint): IpRange {
  return { family: 4, first, last: first + size - 1n, source: 'bench' };
}

function pool(name: string, ranges: IpRange[]): AddressPool {
  return { name, protocol: 'layer2', ranges, autoAssign: true, avoidBuggyIps: false };
}

function request(i: number, family: 4 | 6 = 4): AllocationRequest {
  const key = `bench/svc-${i}`;
  return {
    key,
    families: [family],
    policy: 'SingleStack',
    requestedIps: [],
    pool: undefined,
    namespace: 'bench',
    labels: {},
    namespaceLabels: undefined,
    sharingKey: '',
    ports: [{ protocol: 'TCP', port: 80 }],
    localTraffic: false,
    backendKey: `service:${key}`,
  };
}

function mustAllocate(allocator: Allocator, req: AllocationRequest): void {
  const result = allocator.allocate(req);
  if (!result.ok) throw new Error(`${req.key}: ${result.reason}`);
}

/** Deterministic shuffle (LCG) so runs compare. */
function shuffled(n: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  let seed = 12345;
  for (let i = n - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

const requests = Array.from({ length: SERVICES }, (_, i) => request(i));
const onePool = [pool('big', [v4Range(BASE_V4, 1n << 17n)])]; // 198.18.0.0/15
const hundredPools = Array.from({ length: 100 }, (_, p) =>
  pool(`p${p}`, [v4Range(BASE_V4 + BigInt(p) * 1024n, 1024n)]),
);

// 1. One big pool.
let big = new Allocator(onePool);
measure(`allocate ${SERVICES} into 1 pool (/15)`, SERVICES, () => {
  for (const r of requests) mustAllocate(big, r);
});

// 2. Re-reconcile everything: the idempotent path a resync takes.
measure(`re-allocate ${SERVICES} unchanged (resync)`, SERVICES, () => {
  for (const r of requests) mustAllocate(big, r);
});

// 3. Churn: release a scattered tenth, reallocate them (lowest-free from the freed heap).
const victims = shuffled(SERVICES).slice(0, CHURN);
measure(`churn: release+reallocate ${CHURN} x5`, CHURN * 5 * 2, () => {
  for (let round = 0; round < 5; round++) {
    for (const i of victims) big.release(requests[i]!.key);
    for (const i of victims) mustAllocate(big, requests[i]!);
  }
});

// 4. Config swap with every IP held (pools re-indexed, usage recounted).
measure(`setConfig with ${SERVICES} held`, 1, () => {
  big.setConfig([pool('big', [v4Range(BASE_V4, 1n << 17n)])]);
});
// The fresh cursor walks once past the held block (amortised O(1) per held IP).
measure('first allocate after the swap (one-time walk)', 1, () => {
  mustAllocate(big, request(SERVICES));
});
measure('next 1000 allocations after the swap', 1000, () => {
  for (let i = 1; i <= 1000; i++) mustAllocate(big, request(SERVICES + i));
});
big = new Allocator([]);

// 5. Restart: restore every Service from status (scattered order), then allocate new ones.
const statusIps = requests.map((_, i) => {
  const v = Number(BASE_V4) + i * 1;
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
});
const restorer = new Allocator(onePool);
const order = shuffled(SERVICES);
measure(`restore ${SERVICES} (shuffled)`, SERVICES, () => {
  for (const i of order) {
    if (!restorer.restore(requests[i]!, [statusIps[i]!]).ok) throw new Error('restore conflict');
  }
});
measure('first allocate after restore (one-time walk)', 1, () => {
  mustAllocate(restorer, request(SERVICES));
});
measure('next 1000 allocations after restore', 1000, () => {
  for (let i = 1; i <= 1000; i++) mustAllocate(restorer, request(SERVICES + i));
});

// 6. 100 pools of 1024, filled in config order.
const hundred = new Allocator(hundredPools);
measure(`allocate ${SERVICES} into 100 pools (/22 each)`, SERVICES, () => {
  for (const r of requests) mustAllocate(hundred, r);
});
measure(`100 pools churn: release+reallocate ${CHURN} x5`, CHURN * 5 * 2, () => {
  for (let round = 0; round < 5; round++) {
    for (const i of victims) hundred.release(requests[i]!.key);
    for (const i of victims) mustAllocate(hundred, requests[i]!);
  }
});

// 7. IPv6 /64.
const v6Requests = Array.from({ length: SERVICES }, (_, i) => request(i, 6));
const v6 = new Allocator([
  { name: 'v6', protocol: 'layer2', ranges: [{ family: 6, first: BASE_V6, last: BASE_V6 + (1n << 64n) - 1n, source: 'bench' }], autoAssign: true, avoidBuggyIps: false },
]);
measure(`allocate ${SERVICES} into an IPv6 /64`, SERVICES, () => {
  for (const r of v6Requests) mustAllocate(v6, r);
});

// Keep the allocators alive until the last heap figure.
const keep = [restorer, hundred, v6, big];

console.log(`allocator benchmark, Node ${process.version}, gc ${gc ? 'exposed (heap after full GC)' : 'NOT exposed: run with --expose-gc'}`);
console.log(
  ['scenario'.padEnd(48), 'ops'.padStart(8), 'total ms'.padStart(10), 'ns/op'.padStart(9), 'heap before MB'.padStart(15), 'heap after MB'.padStart(14), 'delta MB'.padStart(9)].join(' '),
);
for (const row of rows) {
  console.log(
    [
      row.scenario.padEnd(48),
      String(row.ops).padStart(8),
      row.totalMs.toFixed(1).padStart(10),
      Math.round((row.totalMs * 1e6) / row.ops).toString().padStart(9),
      row.heapBeforeMb.toFixed(1).padStart(15),
      row.heapAfterMb.toFixed(1).padStart(14),
      (row.heapAfterMb - row.heapBeforeMb).toFixed(1).padStart(9),
    ].join(' '),
  );
}
void keep;
