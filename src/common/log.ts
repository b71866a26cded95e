// One pino logger per process: JSON lines for `kubectl logs`, pretty when a
// person watches a terminal.
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
  return pino({
    level: level as LevelWithSilent,
    ...(opts.name ? { name: opts.name } : {}),
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  });
}

/** A logger that drops everything, for tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
