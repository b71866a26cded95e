// The cost of the node-wide limit tables per limited request: one token
// taken, one in-flight place taken and given back, and one sliding-window
// hit (global-rate-limit), over 1,000 clients, one million times each,
// three rounds.
//
//   node_modules/.bin/node test/bench/shared-limits.ts
import { allocateSharedLimits, sharedLimitsOf, sharedNow } from '../../src/ingress/runtime/shared-limits.ts';

const limits = sharedLimitsOf(allocateSharedLimits());
const keys = Array.from({ length: 1000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
const N = 1_000_000;
for (let round = 0; round < 3; round++) {
  let t = performance.now();
  for (let i = 0; i < N; i++) limits.rate.take('ingress:lab/limited', keys[i % 1000]!, 10, 0.1);
  const take = ((performance.now() - t) / N) * 1e6;
  t = performance.now();
  for (let i = 0; i < N; i++) {
    const key = keys[i % 1000]!;
    limits.inFlight.release(limits.inFlight.acquire('ingress:lab/limited', key, 5));
  }
  const place = ((performance.now() - t) / N) * 1e6;
  t = performance.now();
  for (let i = 0; i < N; i++) limits.windows.hit('ingress:lab/limited', keys[i % 1000]!, 100, 60_000);
  const window = ((performance.now() - t) / N) * 1e6;
  t = performance.now();
  for (let i = 0; i < N; i++) sharedNow();
  const clock = ((performance.now() - t) / N) * 1e6;
  console.log(`round ${round + 1}: take ${take.toFixed(0)} ns, in-flight acquire + release ${place.toFixed(0)} ns, window hit ${window.toFixed(0)} ns, clock read ${clock.toFixed(0)} ns`);
}
