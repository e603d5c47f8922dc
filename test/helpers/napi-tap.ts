// A tap device opened with IFF_NAPI | IFF_NAPI_FRAGS: each write becomes a paged skb
// whose linear part is the write's first iovec and whose frags are the others, the
// way NICs that leave only the headers linear (mlx4, sfc, bnxt aggregation rings…)
// hand packets to the stack. The kernel refuses a write whose first iovec is shorter
// than the headers the flow dissector finds (drivers/net/tun.c, tun_get_user():
// "headlen > skb_headlen"), so for UDP the smallest linear part is Ethernet + IPv4 +
// UDP = 42 bytes. Node cannot ioctl, so a short python3 process holds the fd and
// writes each line of hex segments with writev(2); the device goes when it exits.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

const PY = `
import fcntl, os, struct, sys
IFF_TAP, IFF_NO_PI, IFF_NAPI, IFF_NAPI_FRAGS, TUNSETIFF = 0x0002, 0x1000, 0x0010, 0x0020, 0x400454ca
fd = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', sys.argv[1].encode(), IFF_TAP | IFF_NO_PI | IFF_NAPI | IFF_NAPI_FRAGS))
print('ready', flush=True)
for line in sys.stdin:
    segs = [bytes.fromhex(h) for h in line.split()]
    try:
        print('ok', os.writev(fd, segs), flush=True)
    except OSError as e:
        print('err', e.errno, e.strerror, flush=True)
`;

export class NapiTap {
  private readonly replies: string[] = [];
  private waiter: ((line: string) => void) | undefined;
  private stderr = '';

  private constructor(private readonly proc: ChildProcessWithoutNullStreams) {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      if (this.waiter) {
        this.waiter(line);
      } else {
        this.replies.push(line);
      }
    });
    proc.stderr.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    proc.on('exit', (code) => this.waiter?.(`exited (${code})`));
  }

  /** Creates tap `name` in `ns`; it exists until close(). */
  static async open(ns: string, name: string): Promise<NapiTap> {
    const proc = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', PY, name], { stdio: ['pipe', 'pipe', 'pipe'] });
    const tap = new NapiTap(proc);
    const first = await tap.next();
    if (first !== 'ready') {
      await tap.close();
      throw new Error(`napi tap ${name}: ${first} ${tap.stderr}`);
    }
    return tap;
  }

  /** One packet, written as these segments (the first is the linear part). Returns the bytes written. */
  async write(segments: readonly Buffer[]): Promise<number> {
    this.proc.stdin.write(`${segments.map((s) => s.toString('hex')).join(' ')}\n`);
    const reply = await this.next();
    const m = /^ok (\d+)$/.exec(reply);
    if (!m) throw new Error(`napi tap write: ${reply} ${this.stderr}`);
    return Number(m[1]);
  }

  async close(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.stdin.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }

  private next(timeoutMs = 5_000): Promise<string> {
    const queued = this.replies.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`napi tap: no answer in ${timeoutMs} ms ${this.stderr}`));
      }, timeoutMs);
      this.waiter = (line) => {
        this.waiter = undefined;
        clearTimeout(timer);
        resolve(line);
      };
    });
  }
}
