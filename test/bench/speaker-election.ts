// Owner election cost: thousands of IPs x 100 nodes, cold (fresh caches:
// one SHA-256 per node and per IP) and warm (a membership change re-run).
// Run: node_modules/.bin/node test/bench/speaker-election.ts
import { OwnerElection, type ElectionInput } from '../../src/speaker/election.ts';

function input(ipCount: number, nodeCount: number, localEvery: number): ElectionInput {
  const names = Array.from({ length: nodeCount }, (_, i) => `worker-${String(i).padStart(3, '0')}`);
  const ready = new Set(names.filter((_, i) => i % 3 === 0));
  return {
    live: new Set(names),
    nodes: names.map((name) => ({ name, subnets: ['198.18.0.0/15', '2001:db8::/64', '169.254.0.0/16'] })),
    ips: Array.from({ length: ipCount }, (_, i) => ({
      ip: i % 4 === 3 ? `2001:db8::${i.toString(16)}` : `198.18.${(i >> 8) & 255}.${i & 255}`,
      services: [{ service: `ns/svc-${i}`, local: i % localEvery === 0, readyNodes: ready }],
    })),
  };
}

function time(label: string, fn: () => void, rounds: number): void {
  const start = performance.now();
  for (let r = 0; r < rounds; r++) fn();
  console.log(`${label}: ${((performance.now() - start) / rounds).toFixed(2)} ms`);
}

for (const [ips, nodes] of [
  [3000, 100],
  [10_000, 100],
] as const) {
  const data = input(ips, nodes, 5);
  time(`${ips} IPs x ${nodes} nodes, cold`, () => new OwnerElection().elect(data), 3);
  const warm = new OwnerElection();
  warm.elect(data);
  const oneDown = { ...data, live: new Set([...data.live].slice(1)) };
  let flip = false;
  time(`${ips} IPs x ${nodes} nodes, warm (membership change)`, () => warm.elect((flip = !flip) ? oneDown : data), 10);
}
