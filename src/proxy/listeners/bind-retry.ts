// The bind-retry bookkeeping a TCP or UDP listener keeps: how many binds
// failed in a row, the timer of the next attempt, and what to log (the
// schedule itself is the pure bind-backoff.ts).
import type { Logger } from 'pino';
import { bindRetryDelayMs, shouldWarnBindFailure, type BindBackoff } from './bind-backoff.ts';

export class BindRetry {
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #key: string;
  readonly #log: Logger;
  readonly #backoff: BindBackoff | undefined;
  readonly #onBindError: ((code: string) => void) | undefined;

  constructor(key: string, log: Logger, backoff: BindBackoff | undefined, onBindError: ((code: string) => void) | undefined) {
    this.#key = key;
    this.#log = log;
    this.#backoff = backoff;
    this.#onBindError = onBindError;
  }

  /** An attempt is scheduled. */
  get pending(): boolean {
    return this.#timer !== undefined;
  }

  /** Counts a failed bind, reports it, and calls `rebind` after the backoff. */
  failed(err: NodeJS.ErrnoException, rebind: () => void): void {
    this.#failures++;
    const code = err.code ?? 'UNKNOWN';
    this.#onBindError?.(code);
    const delay = bindRetryDelayMs(this.#failures, this.#backoff);
    const fields = { listener: this.#key, code, err: err.message, failures: this.#failures, retryInMs: delay };
    if (shouldWarnBindFailure(this.#failures)) this.#log.warn(fields, 'cannot bind yet; retrying');
    else this.#log.debug(fields, 'cannot bind yet; retrying');
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      rebind();
    }, delay);
  }

  /** The bind succeeded: says so (at info after failures), and starts counting afresh. */
  succeeded(): void {
    if (this.#failures > 0) this.#log.info({ listener: this.#key, afterFailures: this.#failures }, 'listening (after retrying the bind)');
    else this.#log.debug({ listener: this.#key }, 'listening');
    this.#failures = 0;
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
