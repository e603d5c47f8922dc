// One pino root for the process: JSON lines with level names ("level":"info", not 30)
// and ISO timestamps, or pretty when stderr is a terminal. Components take a child:
// `logger.child({ component: 'bgp', peer })`.
import { destination, pino, stdTimeFunctions, type Level, type Logger } from 'pino';
import { ValidationError } from '../errors.js';

export type { Logger } from 'pino';

/**
 * Level names as Calico spells them (logSeverityScreen: Trace…Fatal; logrus' ParseLevel,
 * which calico-node uses for CALICO_STARTUP_LOGLEVEL, also takes Warn and Panic), matched
 * case-insensitively, and pino's own. pino has no panic level: Panic is fatal.
 */
const LEVELS: Readonly<Record<string, Level | 'silent'>> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warning: 'warn',
  warn: 'warn',
  error: 'error',
  fatal: 'fatal',
  panic: 'fatal',
  none: 'silent',
  silent: 'silent',
};

export const LOG_LEVEL_NAMES = 'Trace, Debug, Info, Warning, Error, Fatal, Panic or None (any case)';

/** The pino level for a Calico or pino level name; a clear error otherwise. */
export function parseLogLevel(text: string, source = '--log-level'): Level | 'silent' {
  const level = LEVELS[text.trim().toLowerCase()];
  if (!level) throw new ValidationError(source, `unknown log level ${JSON.stringify(text)}; use ${LOG_LEVEL_NAMES}`);
  return level;
}

export function createLogger(opts: { level?: string; pretty?: boolean; name?: string } = {}): Logger {
  const pretty = opts.pretty ?? process.stderr.isTTY === true;
  const fromEnv = opts.level === undefined && process.env.TABBY_LOG_LEVEL !== undefined;
  const level = parseLogLevel(opts.level ?? process.env.TABBY_LOG_LEVEL ?? 'info', fromEnv ? 'TABBY_LOG_LEVEL' : '--log-level');
  if (pretty) {
    return pino({ level, name: opts.name, transport: { target: 'pino-pretty', options: { destination: 2, colorize: true } } });
  }
  return pino(
    { level, name: opts.name, timestamp: stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    destination({ dest: 2, sync: false }),
  );
}

/** A logger that drops everything, for tests and library use without a root. */
export const silentLogger: Logger = pino({ level: 'silent' });
