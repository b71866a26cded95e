import { describe, expect, it } from 'vitest';

import { curlArgs, listensOn, parseAddrJson, parseCurlOutput, parseListeners } from '../../../demo/observe.ts';
import { staleDemoDirs } from '../../../demo/demo-sweep.ts';
import { parseDemoArgs } from '../../../demo/options.ts';
import { missingRequirements, refusalMessage, requirements, type MachineFacts } from '../../../demo/requirements.ts';

const fine: MachineFacts = { platform: 'linux', uid: 0, iproute2: true, curl: true, go: true, nativeAddon: true };

describe('requirements', () => {
  it('nothing missing on a prepared machine, even without Go (only the first build needs it)', () => {
    expect(missingRequirements(fine)).toEqual([]);
    expect(missingRequirements({ ...fine, go: false })).toEqual([]);
  });

  it('without root: says it needs root and why, and what else, Go included', () => {
    const facts = { ...fine, uid: 1000, curl: false };
    expect(missingRequirements(facts).map((m) => m.what)).toEqual(['root', 'curl']);
    const text = refusalMessage(requirements(facts), false);
    expect(text).toMatch(/needs:/);
    expect(text).toMatch(/MISSING root: .*network namespaces/);
    expect(text).toMatch(/ok +iproute2/);
    expect(text).toMatch(/MISSING curl/);
    expect(text).toMatch(/Go, only the first time: .*\(go not found\)/);
    expect(text).toMatch(/sudo npm run demo/);
  });

  it('names iproute2, the native addon and Linux', () => {
    expect(missingRequirements({ ...fine, platform: 'darwin', iproute2: false, nativeAddon: false }).map((m) => m.what)).toEqual([
      'Linux',
      'iproute2 (ip, bridge)',
      'the native addon',
    ]);
  });
});

describe('options', () => {
  it('parses the flags and refuses unknown ones with the usage', () => {
    expect(parseDemoArgs([])).toEqual({ once: false, failover: true, keepLogs: false, real: false, help: false });
    expect(parseDemoArgs(['--once', '--no-failover', '--keep-logs', '--real'])).toEqual({ once: true, failover: false, keepLogs: true, real: true, help: false });
    expect(parseDemoArgs(['-h']).help).toBe(true);
    expect(() => parseDemoArgs(['--onse'])).toThrow(/unknown flag "--onse"[\s\S]*--once/);
  });
});

describe('observe (parsing)', () => {
  it('holder device addresses: global ones only', () => {
    const json = JSON.stringify([{ addr_info: [{ local: '198.18.0.101', scope: 'global' }, { local: 'fe80::1', scope: 'link' }] }]);
    expect(parseAddrJson(json)).toEqual(['198.18.0.101']);
    expect(parseAddrJson('')).toEqual([]);
  });

  it('listeners from ss, and whether one takes ip:port', () => {
    const ss = [
      'LISTEN 0      511    198.18.0.101:80        0.0.0.0:*',
      'LISTEN 0      511       127.0.0.1:7473      0.0.0.0:*',
      'LISTEN 0      511               *:8080            *:*',
      '',
    ].join('\n');
    const l = parseListeners(ss);
    expect(l).toEqual(['198.18.0.101:80', '127.0.0.1:7473', '*:8080']);
    expect(listensOn(l, '198.18.0.101', 80)).toBe(true);
    expect(listensOn(l, '198.18.0.100', 80)).toBe(false);
    expect(listensOn(l, '198.18.0.100', 8080)).toBe(true);
    expect(listensOn(['[2001:db8::100]:80'], '2001:db8::100', 80)).toBe(true);
  });

  it('curl output: body, status, and the echo reply', () => {
    const body = JSON.stringify({ name: 'hello-1', remoteAddress: '198.18.0.11' });
    expect(parseCurlOutput(`${body}\n\n--metalgate-demo-status:200`)).toMatchObject({ status: 200, echo: { name: 'hello-1' } });
    expect(parseCurlOutput('404 page not found\n\n--metalgate-demo-status:404')).toEqual({ status: 404, body: '404 page not found\n', echo: undefined });
    expect(curlArgs('http://x/', ['--resolve', 'h:80:1.2.3.4'])).toEqual(['-sS', '-m', '3', '--resolve', 'h:80:1.2.3.4', 'http://x/']);
  });
});

describe('demo sweep', () => {
  it('removes only work directories whose owner is known and gone', () => {
    const alive = (o: { pid: number }) => o.pid === 1;
    expect(
      staleDemoDirs(
        [
          { dir: '/tmp/metalgate-demo-a', owner: { pid: 1, startTime: '5' } },
          { dir: '/tmp/metalgate-demo-b', owner: { pid: 2, startTime: '6' } },
          { dir: '/tmp/metalgate-demo-c', owner: undefined },
        ],
        alive,
      ),
    ).toEqual(['/tmp/metalgate-demo-b']);
  });
});
