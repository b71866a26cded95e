// Request logging: a sampled access log (info) and the proxy's own error
// answers (warn, rate-limited so a flood of bad requests cannot flood the
// log). Pino writes synchronously unless its destination is asynchronous:
// createAccessLogger() makes one that never blocks the event loop.

import { pino, type Logger } from 'pino';
import type { AccessLogRecord } from './types.ts';

/** A JSON logger on stdout with an asynchronous, buffered destination (lines may be lost on a crash). */
function createAccessLogger(level = 'info'): Logger {
  return pino(
    { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 1, sync: false, minLength: 4096 }),
  );
}

export class RequestLog {
  private readonly access: Logger;
  private readonly errors: Logger;
  private readonly rate: number;
  private readonly errorsPerSecond: number;
  private windowStart = 0;
  private inWindow = 0;
  private suppressed = 0;

  constructor(access: Logger, errors: Logger, sampleRate: number, errorsPerSecond = 20) {
    if (!(sampleRate >= 0 && sampleRate <= 1)) throw new RangeError(`access log sample rate must be within 0..1, got ${sampleRate}`);
    this.access = access;
    this.errors = errors;
    this.rate = sampleRate;
    this.errorsPerSecond = errorsPerSecond;
  }

  /** Should this request be logged? One Math.random() per request at most. */
  sampled(): boolean {
    const r = this.rate;
    return r >= 1 || (r > 0 && Math.random() < r);
  }

  request(rec: AccessLogRecord): void {
    this.access.info(rec, 'request');
  }

  /** An answer the proxy made itself (4xx/5xx) or a cut connection. */
  proxyError(rec: AccessLogRecord): void {
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      if (this.suppressed > 0) this.errors.warn({ suppressed: this.suppressed }, 'proxy error log rate limit: records dropped');
      this.windowStart = now;
      this.inWindow = 0;
      this.suppressed = 0;
    }
    if (++this.inWindow > this.errorsPerSecond) {
      this.suppressed++;
      return;
    }
    this.errors.warn(rec, rec.error ?? 'proxy error');
  }
}
