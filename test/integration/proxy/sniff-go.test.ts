// The content sniffer of Traefik's contentType middleware, side by side with
// Go's net/http.DetectContentType (the function Traefik relies on), built
// from a few lines of Go when a Go toolchain is here: the same answer for a
// corpus of signatures, near-misses and random bytes.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { sniffContentType } from '../../../src/proxy/http/sniff.ts';
import { hasProgram } from '../../support/netns-exec.ts';

const GO = existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : hasProgram('go') ? 'go' : undefined;

const GO_SOURCE = `package main

import (
\t"bufio"
\t"encoding/base64"
\t"fmt"
\t"net/http"
\t"os"
)

func main() {
\tsc := bufio.NewScanner(os.Stdin)
\tsc.Buffer(make([]byte, 1<<20), 1<<20)
\tfor sc.Scan() {
\t\tb, _ := base64.StdEncoding.DecodeString(sc.Text())
\t\tfmt.Println(http.DetectContentType(b))
\t}
}
`;

/** Go's answers for `inputs`, from a helper built once into the test cache. */
function goDetect(inputs: readonly Uint8Array[]): string[] {
  const dir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'metalgate', `go-sniff-${createHash('sha256').update(GO_SOURCE).digest('hex').slice(0, 12)}`);
  const bin = join(dir, 'sniff');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'main.go'), GO_SOURCE);
    writeFileSync(join(dir, 'go.mod'), 'module sniff\n\ngo 1.21\n');
    execFileSync(GO!, ['build', '-o', bin, '.'], { cwd: dir, stdio: 'pipe', env: { ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' }, timeout: 300_000 });
  }
  const out = execFileSync(bin, { input: inputs.map((b) => Buffer.from(b).toString('base64')).join('\n') + '\n', encoding: 'utf8' });
  return out.trimEnd().split('\n');
}

const latin1 = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const CORPUS = [
  '', ' ', 'hello world', '{"a":1}', '  <!doctype html><html>', '<HTML>', '<html', '<htmlx>', '\n\t<div class=x>', '<p>', '<b>x', '<!-- c -->', '<?xml version="1.0"?>', ' <?xml ', '%PDF-1.7', '%!PS-Adobe-3.0',
  '\xFE\xFFab', '\xFF\xFEab', '\xEF\xBB\xBFabc', '\x00\x00\x01\x00', '\x00\x00\x02\x00', 'BMxx', 'GIF87a', 'GIF89a', 'RIFFxxxxWEBPVP8 ', '\x89PNG\r\n\x1A\n', '\xFF\xD8\xFF\xE0', 'FORMxxxxAIFF', 'ID3\x03', 'OggS\x00\x02', 'MThd\x00\x00\x00\x06', 'RIFFxxxxAVI LIST', 'RIFFxxxxWAVEfmt ',
  '\x00\x01\x00\x00', 'OTTO', 'ttcf', 'wOFF', 'wOF2', '\x1F\x8B\x08\x00', 'PK\x03\x04', 'Rar!\x1A\x07\x00', 'Rar!\x1A\x07\x01\x00', '\x00asm\x01', '\x1A\x45\xDF\xA3\x01',
  '\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom', '\x00\x00\x00\x1cftypisom\x00\x00\x02\x00isomiso2mp41', 'abc\x00def', 'abc\x1bdef', 'tab\tand\fform', '<script>', '<SCRIPT>', '<iframe ', '<h1>', '<table>', '<a href', '<style>', '<title>', '<body>', '<br>', '<font>', '<head>',
  `${'x'.repeat(600)}\x00`, `\x00${'x'.repeat(10)}`, 'GIF8', '\x89PNG', 'RIFF', '<?xm', '%PDF', 'Rar!\x1A\x07\x02',
].map(latin1);

/** Random bytes, half of them starting with a piece of a signature. */
function randomInputs(n: number, seed: number): Uint8Array[] {
  let s = seed >>> 0;
  const next = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const len = next() % 40;
    const b = new Uint8Array(len);
    for (let j = 0; j < len; j++) b[j] = next() % 4 === 0 ? next() % 32 : 32 + (next() % 224);
    if (i % 2 === 0 && len > 0) {
      const prefix = CORPUS[next() % CORPUS.length]!;
      const k = Math.min(len, next() % (prefix.length + 1));
      b.set(prefix.subarray(0, k));
    }
    out.push(b);
  }
  return out;
}

describe('sniffContentType', () => {
  test.skipIf(GO === undefined)(`answers as Go's http.DetectContentType${GO === undefined ? ' (skipped: needs a Go toolchain)' : ''}`, () => {
    const inputs = [...CORPUS, ...randomInputs(2000, 7)];
    const go = goDetect(inputs);
    const ours = inputs.map(sniffContentType);
    const diff = inputs.map((b, i) => [Buffer.from(b).toString('latin1'), go[i], ours[i]] as const).filter(([, g, o]) => g !== o);
    expect(diff).toEqual([]);
  }, 300_000);
});
