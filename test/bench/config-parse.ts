// Config parser benchmark: legacy address-pools ConfigMaps of 1,000 to
// 10,000 pools, with and without aliases, and the hostile inputs that must
// be refused at once (an alias bomb, a text over the ConfigMap limit).
// Prints a table; asserts nothing.
//
//   node_modules/.bin/node test/bench/config-parse.ts [runs]
import { parsePoolConfig } from '../../src/config/pool-config.ts';

const RUNS = Number(process.argv[2] ?? 5);

function pools(n: number, aliases: boolean): string {
  const lines = ['address-pools:'];
  for (let i = 0; i < n; i++) {
    const v = 0xc6120000 + i * 4; // 198.18.0.0/15 in /30 blocks
    const ip = [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
    const protocol = aliases ? (i === 0 ? '&l2 layer2' : '*l2') : 'layer2';
    lines.push(`- name: pool-${i}`, `  protocol: ${protocol}`, `  addresses: [${ip}/30]`);
  }
  return `${lines.join('\n')}\n`;
}

function aliasBomb(): string {
  const names = 'abcdefghi';
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < names.length; i++) lines.push(`${names[i]}: &${names[i]} [${Array(10).fill(`*${names[i - 1]}`).join(', ')}]`);
  lines.push('address-pools: *i');
  return lines.join('\n');
}

const inputs: Array<[string, string]> = [
  ['1,000 pools', pools(1_000, false)],
  ['10,000 pools', pools(10_000, false)],
  ['5,000 pools, protocol: *l2', pools(5_000, true)],
  ['10,000 pools, protocol: *l2', pools(10_000, true)],
  ['alias bomb (10^9 nodes expanded)', aliasBomb()],
  ['3 MiB text (over the 1 MiB limit)', pools(50_000, true)],
];

console.log(`| input | size | median ms | max ms | result |`);
console.log(`|---|---:|---:|---:|---|`);
for (const [name, text] of inputs) {
  const times: number[] = [];
  let outcome = '';
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    const result = parsePoolConfig(text);
    times.push(performance.now() - t);
    outcome = result.config ? `${result.config.pools.length} pools` : `refused: ${result.issues[0]?.message.slice(0, 60)}`;
  }
  times.sort((a, b) => a - b);
  const kb = `${Math.round(Buffer.byteLength(text) / 1024)} KiB`;
  console.log(`| ${name} | ${kb} | ${times[Math.floor(times.length / 2)]!.toFixed(1)} | ${times.at(-1)!.toFixed(1)} | ${outcome} |`);
}
