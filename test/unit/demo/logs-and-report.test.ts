import { describe, expect, it } from 'vitest';

import { clockOf, formatAnnouncement, parseAnnouncements, parseOwnership, summarizeAnnouncements } from '../../../demo/announcements.ts';
import { condenseLog, exitCodeOf, failureKinds, formatCheck, indentBlock, Reporter, seconds, summaryLine, type CheckResult } from '../../../demo/report.ts';

const line = (o: Record<string, unknown>) => JSON.stringify({ level: 30, name: 'speaker', ...o });
const log = [
  '# 2026-01-01T10:00:00.000Z [netns x] node src/cli.ts speaker',
  line({ time: '2026-01-01T10:00:01.000Z', msg: 'speaker starting' }),
  line({ time: '2026-01-01T10:00:02.000Z', ip: '198.18.0.101', services: ['demo/hello'], node: 'node1', msg: 'took over IP: this node announces it' }),
  line({ time: '2026-01-01T10:00:02.010Z', ip: '198.18.0.101', interface: 'eth0', mac: '02:6d:67:00:00:0b', services: ['demo/hello'], reason: 'takeover', step: 0, msg: 'announced IP (gratuitous ARP, request and reply)' }),
  line({ time: '2026-01-01T10:00:02.110Z', ip: '198.18.0.101', interface: 'eth0', mac: '02:6d:67:00:00:0b', services: ['demo/hello'], reason: 'takeover', step: 1, msg: 'announced IP (gratuitous ARP, request and reply)' }),
  line({ time: '2026-01-01T10:00:03.000Z', ip: '198.18.0.101', interface: 'eth0', mac: '02:6d:67:00:00:0b', services: ['demo/hello'], reason: 'reply', to: { mac: '02:6d:67:00:00:01', ip: '198.18.0.1' }, msg: 'answered ARP request' }),
  line({ time: '2026-01-01T10:00:04.000Z', ip: '198.18.0.101', node: 'node1', why: 'elected elsewhere', msg: 'gave up IP: this node no longer announces it' }),
  line({ time: '2026-01-01T10:00:05.000Z', reason: 'no-interface', ip: '198.18.0.9', msg: 'no node can announce' }),
  '{"level":30,"time":"cut sho',
].join('\n');

describe('announcements', () => {
  it('reads the announcement lines (takeover, refresh, reply) and nothing else', () => {
    const a = parseAnnouncements('node1', log);
    expect(a.map((x) => [x.reason, x.step, x.to?.ip])).toEqual([
      ['takeover', 0, undefined],
      ['takeover', 1, undefined],
      ['reply', undefined, '198.18.0.1'],
    ]);
    expect(a[0]).toMatchObject({ node: 'node1', ip: '198.18.0.101', interface: 'eth0', mac: '02:6d:67:00:00:0b', services: ['demo/hello'] });
  });

  it('reads a refresh round (one line listing its IPs) as an announcement per IP', () => {
    const round = line({ time: '2026-01-01T10:00:12.000Z', ips: ['198.18.0.101', '198.18.0.102'], interface: 'eth0', mac: 'm1', reason: 'refresh', msg: 'announced IPs (gratuitous ARP, request and reply)' });
    expect(parseAnnouncements('node1', round).map((a) => [a.ip, a.reason, a.interface, a.mac])).toEqual([
      ['198.18.0.101', 'refresh', 'eth0', 'm1'],
      ['198.18.0.102', 'refresh', 'eth0', 'm1'],
    ]);
  });

  it('reads ownership changes', () => {
    expect(parseOwnership('node1', log).map((o) => [o.ip, o.owned, o.why])).toEqual([
      ['198.18.0.101', true, undefined],
      ['198.18.0.101', false, 'elected elsewhere'],
    ]);
  });

  it('tells them in a few lines: the first of each kind per node and IP, and how many followed', () => {
    const other = parseAnnouncements('node2', line({ time: '2026-01-01T10:00:01.500Z', ips: ['198.18.0.100'], interface: 'eth0', mac: 'm2', reason: 'refresh', msg: 'announced' }));
    const lines = summarizeAnnouncements([...parseAnnouncements('node1', log), ...other]);
    expect(lines).toEqual([
      '10:00:01.500 node2: 198.18.0.100 on eth0 m2 reason=refresh (refresh) - announced',
      '10:00:02.010 node1: 198.18.0.101 on eth0 02:6d:67:00:00:0b reason=takeover (takeover step 0) for demo/hello - announced IP (gratuitous ARP, request and reply) [+1 more takeover line]',
      '10:00:03.000 node1: 198.18.0.101 on eth0 02:6d:67:00:00:0b reason=reply (reply to 198.18.0.1 (02:6d:67:00:00:01)) for demo/hello - answered ARP request',
    ]);
    expect(clockOf('2026-01-01T10:00:02.01Z')).toBe('10:00:02.01');
    expect(clockOf('later')).toBe('later');
    expect(formatAnnouncement({ ...parseAnnouncements('node1', log)[2]!, to: undefined })).toContain('reply to ?');
  });
});

describe('report', () => {
  const ok: CheckResult = { name: 'a', status: 'ok', detail: 'fine' };
  const fail: CheckResult = { name: 'b', status: 'fail', detail: 'broken' };

  it('one line per check, a summary, and exit 0 only when all held', () => {
    expect(formatCheck(ok)).toBe('      [ok]   a: fine');
    expect(formatCheck(fail)).toBe('      [FAIL] b: broken');
    expect(summaryLine([ok, ok])).toBe('All 2 checks held.');
    expect(summaryLine([ok, fail, { ...fail, name: 'c' }])).toBe('1 of 3 checks held; failed: b, c.');
    expect(summaryLine([])).toBe('No check ran.');
    expect(exitCodeOf([ok])).toBe(0);
    expect(exitCodeOf([ok, fail])).toBe(1);
    expect(exitCodeOf([])).toBe(1);
  });

  it('Reporter numbers stages, indents details and command output', () => {
    const out: string[] = [];
    const r = new Reporter(2, (l) => out.push(l));
    r.stage('First');
    r.command('kubectl get svc', 'NAME\nhello\n\n');
    r.ok('x');
    expect(out).toEqual(['', '[1/2] First', '      $ kubectl get svc', '        NAME', '        hello', '      [ok]   x']);
    expect(r.checks).toHaveLength(1);
    expect(indentBlock('')).toEqual([]);
    expect(seconds(35.4)).toBe('35 ms');
    expect(seconds(2449)).toBe('2.4 s');
  });

  it('condenses a JSON log tail to level, message and the API error message', () => {
    const err = 'HTTP-Code: 403\nMessage: Unknown API Status Code!\nBody: "{\\"kind\\":\\"Status\\",\\"message\\":\\"endpointslices is forbidden: User \\\\\\"sa\\\\\\" cannot list\\",\\"reason\\":\\"Forbidden\\"}"';
    const text = ['plain line', JSON.stringify({ level: 40, msg: 'watch failed', err }), JSON.stringify({ level: 30, msg: 'ok' }), '{broken'].join('\n');
    expect(condenseLog(text, 3).split('\n')).toEqual(['warn watch failed (endpointslices is forbidden: User "sa" cannot list)', 'info ok', '{broken']);
  });

  it('counts failed probes by error', () => {
    expect(
      failureKinds([
        { t: 1, ms: 1, ok: false, err: 'ECONNREFUSED' },
        { t: 2, ms: 1, ok: false, err: 'ECONNREFUSED' },
        { t: 3, ms: 300, ok: false, err: 'TIMEOUT' },
        { t: 4, ms: 1, ok: false, status: 502 },
        { t: 5, ms: 1, ok: true, status: 200 },
      ]),
    ).toBe('ECONNREFUSED x2, TIMEOUT x1, HTTP 502 x1');
  });
});
