// Read buffers of one thread's plain-HTTP upstream connections (upstream.ts,
// ownReads), so that a connection idle in the keep-alive pool holds none.
//
// A busy connection reads into a buffer of its own, which the parser and the
// client side may keep views of until their writes are out. An idle one can
// only read a close or bytes nobody asked for, which end it; so idle
// connections all read into the one shared buffer here, and give theirs back.
// A connection handed out again copies its first read out of the shared
// buffer into one of its own before anything looks at it.
//
// Measured (docs/benchmarks.md, "Memory"): keeping their own 16 KiB, the
// pool's idle connections held 5.1 MiB per endpoint and thread at the
// ingress-nginx default of 320 idle connections.
//
// Not a general buffer pool: buffers come back here only when nothing points
// into them, which their connection alone can tell.

/**
 * Read size of a plain-HTTP upstream connection. Reading into a buffer of
 * its own (`onread`) instead of a new Buffer and a stream push per read,
 * measured through the product path (one process, wrk at 50 connections,
 * medians of 8 interleaved rounds): CPU per proxied request 27.8 -> 24.9 us.
 */
export const UPSTREAM_READ_BYTES = 16 * 1024;

/**
 * Buffers kept for reuse: enough for the connections of a busy moment to
 * take one without allocating, few enough that 64 x 16 KiB is all a thread
 * keeps after it.
 */
export const SPARE_READ_BUFFERS = 64;

/** Where every idle connection's reads land. As large as a busy one's, so a reused connection's first read is not cut short. */
export const SHARED_IDLE_READ_BUFFER: Buffer = Buffer.allocUnsafeSlow(UPSTREAM_READ_BYTES);

const spare: Buffer[] = [];

/** A read buffer nothing else points into. */
export function takeReadBuffer(): Buffer {
  return spare.pop() ?? Buffer.allocUnsafeSlow(UPSTREAM_READ_BYTES);
}

/** Gives back a buffer nothing points into any more. */
export function giveReadBuffer(buf: Buffer): void {
  if (buf !== SHARED_IDLE_READ_BUFFER && buf.length === UPSTREAM_READ_BYTES && spare.length < SPARE_READ_BUFFERS) spare.push(buf);
}

/** Buffers waiting to be taken. */
export function spareReadBuffers(): number {
  return spare.length;
}
