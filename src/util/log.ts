// One pino root for the process: JSON lines, or pretty when stderr is a terminal.
// Components take a child: `logger.child({ component: 'bgp', peer })`.
import { destination, pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export function createLogger(opts: { level?: string; pretty?: boolean; name?: string } = {}): Logger {
  const pretty = opts.pretty ?? process.stderr.isTTY === true;
  const level = opts.level ?? process.env.TABBY_LOG_LEVEL ?? 'info';
  if (pretty) {
    return pino({ level, name: opts.name, transport: { target: 'pino-pretty', options: { destination: 2, colorize: true } } });
  }
  return pino({ level, name: opts.name }, destination({ dest: 2, sync: false }));
}

/** A logger that drops everything, for tests and library use without a root. */
export const silentLogger: Logger = pino({ level: 'silent' });
