// A persistent connection to a BIRD control socket: commands without spawning `birdc`
// (which costs a process per poll on a 2-core machine). Replies are BIRD's numbered
// lines; a reply ends at the first line whose four-digit code is followed by a space.

import { connect, type Socket } from 'node:net';
import { BenchError } from './common.js';

const END = /^\d{4} /m;

export class BirdControl {
  private sock?: Socket;
  private buf = '';
  private waiter?: { resolve: (s: string) => void; reject: (e: Error) => void };
  private chain: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {}

  /** Connects and reads the greeting ("0001 BIRD … ready."). */
  async open(timeoutMs = 10_000): Promise<void> {
    const sock = connect(this.path);
    this.sock = sock;
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.data(d));
    sock.on('error', (err) => this.fail(err));
    sock.on('close', () => this.fail(new BenchError(`BIRD control socket ${this.path} closed`)));
    await this.reply(timeoutMs);
  }

  /** One command's whole reply (codes kept). Commands run one at a time, in order. */
  command(line: string, timeoutMs = 30_000): Promise<string> {
    const p = this.chain.then(() => {
      if (!this.sock) throw new BenchError('BIRD control socket not open');
      this.sock.write(`${line}\n`);
      return this.reply(timeoutMs);
    });
    this.chain = p.catch(() => undefined);
    return p;
  }

  close(): void {
    this.sock?.destroy();
    this.sock = undefined;
  }

  private reply(timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new BenchError(`BIRD at ${this.path} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.data('');
    });
  }

  private data(d: string): void {
    this.buf += d;
    if (!this.waiter) return;
    const m = END.exec(this.buf);
    if (!m) return;
    const end = this.buf.indexOf('\n', m.index);
    if (end < 0) return;
    const text = this.buf.slice(0, end + 1);
    this.buf = this.buf.slice(end + 1);
    const w = this.waiter;
    this.waiter = undefined;
    w.resolve(text);
  }

  private fail(err: Error): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
  }
}
