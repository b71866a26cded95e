// The nft side of handover forwarding with a recording stand-in for nft:
// what runs, in which order, when it ends, and what a failing nft turns off.
import pino from 'pino';
import { describe, expect, test } from 'vitest';
import type { CommandResult, KernelCommands } from '../../../src/proxy/kernel/kernel-commands.ts';
import { HandoverForwarder } from '../../../src/speaker/handover-forwarder.ts';

const log = pino({ level: 'silent' });
const f = { ip: '198.18.0.200', device: 'eth0', ownMac: '02:00:00:00:00:0a', peerMac: '02:00:00:00:00:01' };

function recorder(fail: (script: string) => string | undefined = () => undefined) {
  const scripts: string[] = [];
  const commands = {
    async nft(script: string): Promise<CommandResult> {
      scripts.push(script);
      await new Promise((r) => setTimeout(r, 5));
      const error = fail(script);
      return error === undefined ? { ok: true } : { ok: false, error };
    },
  } as unknown as KernelCommands;
  return { scripts, commands };
}

describe('HandoverForwarder', () => {
  test('reset first, the chain in before open resolves, removed after its time', async () => {
    const { scripts, commands } = recorder();
    const fw = new HandoverForwarder(commands, log);
    await fw.reset();
    expect(await fw.open(f, 50)).toBe(true);
    expect(fw.openIps()).toEqual(['198.18.0.200']);
    expect(scripts).toHaveLength(2);
    expect(scripts[0]).toContain('delete table netdev metalgate-handover');
    expect(scripts[1]).toContain('add chain netdev metalgate-handover fwd_198_18_0_200');
    await new Promise((r) => setTimeout(r, 120));
    expect(fw.openIps()).toEqual([]);
    expect(scripts[2]).toBe('delete chain netdev metalgate-handover fwd_198_18_0_200\ndelete set netdev metalgate-handover flows_198_18_0_200\n');
  });

  test('a close asked while the open is still running comes after it; closing what is not open runs nothing', async () => {
    const { scripts, commands } = recorder();
    const fw = new HandoverForwarder(commands, log);
    const opened = fw.open(f, 10_000);
    await fw.close('198.18.0.201');
    await opened;
    await fw.closeAll();
    expect(scripts.map((s) => s.split(' ')[0] + ' ' + s.split(' ')[1])).toEqual(['add table', 'delete chain']);
    expect(fw.openIps()).toEqual([]);
  });

  test('without nft (the reset fails) nothing is forwarded and open says so', async () => {
    const { scripts, commands } = recorder(() => 'nft: spawn nft ENOENT');
    const fw = new HandoverForwarder(commands, log);
    await fw.reset();
    expect(await fw.open(f, 50)).toBe(false);
    expect(scripts).toHaveLength(1);
  });

  test('an nft error on open: false, nothing left to close; bad fields never reach nft', async () => {
    const { scripts, commands } = recorder((s) => (s.includes('add chain') ? 'Error: Could not process rule: No such file or directory' : undefined));
    const fw = new HandoverForwarder(commands, log);
    expect(await fw.open(f, 50)).toBe(false);
    expect(fw.openIps()).toEqual([]);
    expect(await fw.open({ ...f, device: 'eth0"; flush ruleset' }, 50)).toBe(false);
    expect(scripts).toHaveLength(1);
  });

  test('opens asked while nft runs go in together, in one call; when that fails, each goes on its own and only the bad one fails', async () => {
    const ips = ['198.18.0.201', '198.18.0.202', '198.18.0.203'];
    const { scripts, commands } = recorder((s) => (s.includes('fwd_198_18_0_202') ? 'Error: No such device' : undefined));
    const fw = new HandoverForwarder(commands, log);
    const first = fw.open(f, 10_000);
    await new Promise((r) => setTimeout(r, 1)); // its nft is running now
    const rest = ips.map((ip) => fw.open({ ...f, ip }, 10_000));
    expect(await first).toBe(true);
    expect(await Promise.all(rest)).toEqual([true, false, true]);
    // The first alone; the three waiting behind it in one transaction, which fails; then each of them.
    expect(scripts.map((s) => (s.match(/add chain/g) ?? []).length)).toEqual([1, 3, 1, 1, 1]);
    expect(fw.openIps()).toEqual(['198.18.0.200', '198.18.0.201', '198.18.0.203']);
    await fw.closeAll();
  });
});
