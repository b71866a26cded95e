// One pino logger per process (and per proxy worker thread): JSON lines for `kubectl logs`, pretty when a
// person watches a terminal.
import { isMainThread } from 'node:worker_threads';
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LogOptions {
  level?: string;
  /** Force pretty (true) or JSON (false); by default pretty only on a TTY. */
  pretty?: boolean;
  name?: string;
}

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export function createLogger(opts: LogOptions = {}): Logger {
  const level = (opts.level ?? 'info').toLowerCase();
  if (!LEVELS.has(level)) throw new Error(`unknown log level "${opts.level}" (one of ${[...LEVELS].join(', ')})`);
  const pretty = opts.pretty ?? (process.stdout.isTTY === true && process.env.METALGATE_LOG_FORMAT !== 'json');
  const options = {
    level: level as LevelWithSilent,
    ...(opts.name ? { name: opts.name } : {}),
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (pretty) return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  // pino's default writes asynchronously and flushes at exit on the main
  // thread only; a worker thread flushes before it ends (flushLog), which
  // waits for a write in flight only when minLength is above 0.
  return isMainThread ? pino(options) : pino(options, pino.destination({ dest: 1, sync: false, minLength: 1 }));
}

/** Resolves once every line logged so far is written (the error of a destination that cannot fsync, a pipe, is no matter). */
export function flushLog(log: Logger): Promise<void> {
  return new Promise((resolve) => log.flush(() => resolve()));
}

/**
 * The logger settings of `--log-level` and `--log-format` (json, pretty,
 * or auto: pretty on a terminal), with the format decided, so that a proxy
 * worker thread, which has no terminal of its own, logs as its primary does.
 */
export function logOptionsOf(level: string, format: string, name: string): LogOptions {
  const pretty = format === 'json' ? false : format === 'pretty' ? true : process.stdout.isTTY === true && process.env.METALGATE_LOG_FORMAT !== 'json';
  return { level, name, pretty };
}

/** A logger that drops everything, for tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
