// The agent answers `tabby node status` over a Unix socket in its state dir, so the CLI
// works from any container that shares the directory (no process scanning, calicoctl#1418).
import { mkdirSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { TabbyError } from '../errors.js';

export const SOCKET_NAME = 'agent.sock';
export const DEFAULT_STATE_DIR = '/var/run/tabby';

export type Handler = (request: { cmd: string }) => Promise<unknown> | unknown;

export class StatusServer {
  private server?: Server;
  readonly path: string;

  constructor(stateDir: string, private readonly handler: Handler) {
    this.path = join(stateDir, SOCKET_NAME);
  }

  async start(): Promise<void> {
    mkdirSync(join(this.path, '..'), { recursive: true, mode: 0o755 });
    rmSync(this.path, { force: true }); // a socket left by a killed agent
    this.server = createServer((conn) => {
      let buf = '';
      conn.setEncoding('utf8');
      conn.setTimeout(5000, () => conn.destroy());
      conn.on('data', async (chunk) => {
        buf += chunk;
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        let reply: unknown;
        try {
          reply = { ok: true, result: await this.handler(JSON.parse(buf.slice(0, nl))) };
        } catch (err) {
          reply = { ok: false, error: (err as Error).message };
        }
        conn.end(`${JSON.stringify(reply)}\n`);
      });
      conn.on('error', () => conn.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.path, () => resolve());
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    rmSync(this.path, { force: true });
  }
}

/** Ask a running agent (the CLI side). */
export function askAgent(stateDir: string, cmd: string, timeoutMs = 5000): Promise<unknown> {
  const path = join(stateDir, SOCKET_NAME);
  return new Promise((resolve, reject) => {
    const conn = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new TabbyError(`the agent at ${path} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${JSON.stringify({ cmd })}\n`));
    conn.on('data', (d) => (buf += d));
    conn.on('end', () => {
      clearTimeout(timer);
      try {
        const reply = JSON.parse(buf) as { ok: boolean; result?: unknown; error?: string };
        if (reply.ok) resolve(reply.result);
        else reject(new TabbyError(`agent: ${reply.error}`));
      } catch {
        reject(new TabbyError(`the agent at ${path} sent a malformed reply`));
      }
    });
    conn.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? 'is the agent running? (tabby node run)' : err.message;
      reject(new TabbyError(`Tabby process is not running: no answer on ${path}: ${why}`));
    });
  });
}
