// Field lists for requests sent as HTTP/2 to a backend: which received
// fields never go (connection-specific in HTTP/2, or set by the proxy), and
// how `Name: value` lines (forwarding fields, header edits) join the list.
// Shared by the HTTP/2 and the HTTP/1.1 client sides.

/** Request fields never forwarded to an HTTP/2 backend (connection-specific, or set by us). */
export const H2_NOT_FORWARDED: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  'http2-settings',
]);

export function pushField(out: Record<string, string | string[]>, name: string, value: string): void {
  const prev = out[name];
  if (prev === undefined) out[name] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else out[name] = [prev, value];
}

/** "Name: value\r\n" lines (forwarding fields, header edits) into `out`. */
export function pushLines(out: Record<string, string | string[]>, lines: string): void {
  for (const line of lines.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) pushField(out, line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
}
