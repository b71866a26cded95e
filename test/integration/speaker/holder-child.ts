// Child process for vip-holder.test.ts, run inside a network namespace the
// test created: exercises VipHolder through real rtnetlink and prints one
// JSON object with what it saw.
import { pino } from 'pino';
import { Rtnl } from '../../../src/netlink/rtnl.ts';
import { VipHolder } from '../../../src/speaker/vip-holder.ts';

const lines: Array<{ msg: string }> = [];
const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as { msg: string }) });
const rtnl = new Rtnl();
const out: Record<string, unknown> = {};
try {
  try {
    await new VipHolder(rtnl, log, 'eth0').ensure();
    out.refused = null;
  } catch (err) {
    out.refused = (err as Error).message;
  }
  const holder = new VipHolder(rtnl, log, 'mgtest0');
  out.created = await holder.ensure();
  out.createdAgain = await holder.ensure();
  const link = (await rtnl.links()).find((l) => l.name === 'mgtest0');
  out.link = { kind: link?.kind, up: link?.up };
  await holder.add('198.18.0.77');
  await holder.add('198.18.0.77'); // idempotent
  await holder.add('2001:db8::77');
  out.held = await holder.held();
  await holder.remove('198.18.0.77');
  await holder.remove('198.18.0.77'); // idempotent
  out.afterRemove = await holder.held();
  await holder.add('198.18.0.78');
  // A new run: everything global on the holder is a leftover.
  const next = new VipHolder(rtnl, log, 'mgtest0');
  out.createdByNextRun = await next.ensure();
  out.flushed = await next.flush();
  out.afterFlush = await next.held();
  out.logs = lines.map((l) => l.msg);
} finally {
  rtnl.close();
}
process.stdout.write(`${JSON.stringify(out)}\n`);
