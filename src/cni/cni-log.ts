// The plugin's log: records are kept in memory and handed to pino only at exit, and only
// if one passes the level, so a quiet ADD never pays pino's start-up. Destination: the
// configured file (Calico's log_file_path) or standard error, which runtimes keep.
import type { LogLevel } from './cni-config.js';

const RANK: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50, silent: 100 };
type Level = Exclude<LogLevel, 'silent'>;

export class CniLog {
  private records: { level: Level; obj: Record<string, unknown>; msg: string; time: number }[] = [];
  private base: Record<string, unknown> = {};

  constructor(
    private level: LogLevel = 'warn',
    private file?: string,
  ) {}

  configure(level: LogLevel, file?: string): void {
    this.level = level;
    this.file = file;
  }

  /** Fields every record carries (command, container, network). */
  bind(fields: Record<string, unknown>): void {
    Object.assign(this.base, fields);
  }

  debug(obj: Record<string, unknown>, msg: string): void {
    this.add('debug', obj, msg);
  }
  info(obj: Record<string, unknown>, msg: string): void {
    this.add('info', obj, msg);
  }
  warn(obj: Record<string, unknown>, msg: string): void {
    this.add('warn', obj, msg);
  }
  error(obj: Record<string, unknown>, msg: string): void {
    this.add('error', obj, msg);
  }

  private add(level: Level, obj: Record<string, unknown>, msg: string): void {
    this.records.push({ level, obj, msg, time: Date.now() });
  }

  async flush(): Promise<void> {
    const due = this.records.filter((r) => RANK[r.level] >= RANK[this.level]);
    this.records = [];
    if (due.length === 0) return;
    const { pino, destination } = await import('pino');
    const dest = destination({ dest: this.file ?? 2, sync: true, mkdir: true, append: true });
    const log = pino({ level: this.level, base: { component: 'cni', pid: process.pid, ...this.base }, timestamp: false }, dest);
    for (const r of due) log[r.level]({ time: new Date(r.time).toISOString(), ...r.obj }, r.msg);
    dest.flushSync();
  }
}
