// /metrics (prom-client), /liveness and /readiness over HTTP, on 127.0.0.1 by default.
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthSource {
  live(): boolean;
  ready(): { ready: boolean; reason: string };
}

export class HealthServer {
  private server?: Server;

  constructor(private readonly registry: Registry, private readonly health: HealthSource) {}

  async start(host: string, port: number): Promise<{ host: string; port: number }> {
    this.server = createServer(async (req, res) => {
      try {
        if (req.url === '/metrics') {
          const body = await this.registry.metrics();
          res.writeHead(200, { 'content-type': this.registry.contentType }).end(body);
        } else if (req.url === '/liveness') {
          const ok = this.health.live();
          res.writeHead(ok ? 200 : 503).end(ok ? 'live\n' : 'not live\n');
        } else if (req.url === '/readiness') {
          const r = this.health.ready();
          res.writeHead(r.ready ? 200 : 503).end(`${r.reason}\n`);
        } else {
          res.writeHead(404).end('not found\n');
        }
      } catch (err) {
        res.writeHead(500).end(`${(err as Error).message}\n`);
      }
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    const addr = this.server.address() as { address: string; port: number };
    return { host: addr.address, port: addr.port };
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
