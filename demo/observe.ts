// Looking at the running demo from outside, the way a person would: which
// node carries an IP on its holder device, what listens on a node, what curl
// from the client gets back. Parsing is pure; the rest runs bounded commands
// in the lab's namespaces.
import type { EchoReply, LabHost, LabNode } from '../test/support/lab.ts';
import { CommandError } from '../test/support/netns-exec.ts';
import { DEFAULT_HOLDER_DEVICE } from '../src/speaker/vip-holder.ts';

/** Global addresses in `ip -j addr show dev X` output. Pure. */
export function parseAddrJson(json: string): string[] {
  const out = JSON.parse(json || '[]') as Array<{ addr_info?: Array<{ local: string; scope: string }> }>;
  return (out[0]?.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => a.local);
}

/** Addresses on a node's holder device ([] when it does not exist yet). */
export async function holderAddresses(node: LabNode, device = DEFAULT_HOLDER_DEVICE): Promise<string[]> {
  try {
    return parseAddrJson(await node.ip(['-j', 'addr', 'show', 'dev', device]));
  } catch {
    return [];
  }
}

/** Local addresses of TCP listeners in `ss -Hltn` output ("198.18.0.100:80", "*:80", "[::]:80"). Pure. */
export function parseListeners(ssOutput: string): string[] {
  const out: string[] = [];
  for (const line of ssOutput.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length >= 4 && cols[0] === 'LISTEN') out.push(cols[3]!);
  }
  return out;
}

/** True when one of the listeners accepts connections to ip:port. Pure. */
export function listensOn(listeners: readonly string[], ip: string, port: number): boolean {
  const wanted = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
  return listeners.some((l) => l === wanted || l === `*:${port}` || l === `0.0.0.0:${port}` || l === `[::]:${port}` || l.endsWith(`%${ip}:${port}`));
}

export async function tcpListeners(host: LabHost): Promise<string[]> {
  const { stdout } = await host.exec('ss', ['-Hltn'], { timeoutMs: 5000 });
  return parseListeners(stdout);
}

export interface CurlResult {
  ok: boolean;
  status: number;
  body: string;
  /** The echo server's reply, when that is what answered. */
  echo: EchoReply | undefined;
  /** curl's error when it got no HTTP answer. */
  error: string | undefined;
}

const STATUS_MARK = '\n--metalgate-demo-status:';

/** Reads what `curl -sS -w '<mark>%{http_code}'` printed. Pure. */
export function parseCurlOutput(stdout: string): { status: number; body: string; echo: EchoReply | undefined } {
  const at = stdout.lastIndexOf(STATUS_MARK);
  const body = at >= 0 ? stdout.slice(0, at) : stdout;
  const status = at >= 0 ? Number(stdout.slice(at + STATUS_MARK.length).trim()) : 0;
  let echo: EchoReply | undefined;
  try {
    const parsed = JSON.parse(body) as Partial<EchoReply>;
    if (parsed && typeof parsed.name === 'string') echo = parsed as EchoReply;
  } catch {
    // not the echo server
  }
  return { status, body, echo };
}

/** The curl arguments the demo runs (and prints), without the status marker. */
export function curlArgs(url: string, extra: readonly string[] = []): string[] {
  return ['-sS', '-m', '3', ...extra, url];
}

/** One curl from a lab host, on a fresh connection. Never throws for HTTP or connection errors. */
export async function curlFrom(host: LabHost, url: string, extra: readonly string[] = []): Promise<CurlResult> {
  try {
    const { stdout } = await host.exec('curl', [...curlArgs(url, extra), '-w', `${STATUS_MARK}%{http_code}`], { timeoutMs: 8000 });
    const r = parseCurlOutput(stdout);
    return { ok: r.status >= 200 && r.status < 400, status: r.status, body: r.body, echo: r.echo, error: undefined };
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    const why = err.stderr.trim().split('\n').pop() || err.message.split('\n')[0]!;
    return { ok: false, status: 0, body: err.stdout, echo: undefined, error: why };
  }
}
