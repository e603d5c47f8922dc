// For the encap tests: the two-host topology of src/bench/encap-topology.ts in
// `tbt-…` namespaces, and bounded helpers for ping, packet capture (tcpdump, decoded
// by tshark) and a checksummed TCP transfer.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTopology as buildSharedTopology, type Topology } from '../../src/bench/encap-topology.js';

export function run(cmd: string, ...args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function inNs(ns: string, cmd: string, ...args: string[]): string {
  return run('ip', 'netns', 'exec', ns, cmd, ...args);
}

/** The topology of src/bench/encap-topology.ts, in `tbt-PREFIX-TAG-…` namespaces. */
export function buildTopology(prefix: string): Promise<Topology> {
  const tag = randomBytes(3).toString('hex');
  return buildSharedTopology({
    makeNs: async (role) => {
      const ns = `tbt-${prefix}-${tag}-${role}`;
      run('ip', 'netns', 'add', ns);
      return ns;
    },
    nodeName: (s) => `node-${s}-${tag}`,
  });
}

/**
 * Turns off what a plain NIC may lack: tunnel segmentation and checksum offload on
 * the underlay, TSO on the workload side. The kernel then segments the tunnel's GSO
 * packets in software after tc, and the decapsulated ones before the workload.
 */
export function disableOffloads(t: Topology): void {
  for (const h of Object.values(t.hosts)) {
    inNs(h.ns, 'ethtool', '-K', 'eth0', 'tx-udp_tnl-segmentation', 'off', 'tx-ipxip4-segmentation', 'off',
      'tx-checksum-ip-generic', 'off');
    inNs(h.ns, 'ethtool', '-K', 'wl0', 'tso', 'off', 'tx-checksum-ip-generic', 'off');
  }
}

export interface PingResult {
  ok: boolean;
  output: string;
}

/** `ping -c N -W 1`; size is the ICMP payload (-s); df sets -M do. */
export function ping(ns: string, addr: string, opts: { count?: number; size?: number; df?: boolean } = {}): PingResult {
  const args = ['netns', 'exec', ns, 'ping', '-n', '-c', String(opts.count ?? 3), '-i', '0.2', '-W', '1'];
  if (opts.size !== undefined) args.push('-s', String(opts.size));
  if (opts.df) args.push('-M', 'do');
  args.push(addr);
  const r = spawnSync('ip', args, { timeout: 20_000, encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** `ping -6`, as ping() (size is the ICMPv6 payload; df: -M do, no fragments sent). */
export function ping6(ns: string, addr: string, opts: { count?: number; size?: number; df?: boolean } = {}): PingResult {
  const args = ['netns', 'exec', ns, 'ping', '-6', '-n', '-c', String(opts.count ?? 3), '-i', '0.2', '-W', '1'];
  if (opts.size !== undefined) args.push('-s', String(opts.size));
  if (opts.df) args.push('-M', 'do');
  args.push(addr);
  const r = spawnSync('ip', args, { timeout: 20_000, encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** One captured packet, fields as tshark prints them (all occurrences, outer first). */
export interface CapturedPacket {
  ipSrc: string[];
  ipDst: string[];
  ipProto: string[];
  udpDstPort: string[];
  udpSrcPort: string[];
  vni: string[];
  ethDst: string[];
  ethSrc: string[];
  /** Bytes on the wire, Ethernet header included. */
  frameLen: number;
  ip6Src: string[];
  ip6Dst: string[];
  /** As on the wire (0x0000: none). */
  udpChecksum: string[];
  /** tshark's verdict: 0 bad, 1 good, 2 not verified (zero over IPv4). */
  udpChecksumStatus: string[];
  icmp6Type: string[];
  /** Packet Too Big's MTU. */
  icmp6Mtu: string[];
  /** tshark's verdict on the ICMPv6 checksum: 0 bad, 1 good. */
  icmp6ChecksumStatus: string[];
}

const FIELDS = ['ip.src', 'ip.dst', 'ip.proto', 'udp.dstport', 'vxlan.vni', 'eth.dst', 'eth.src', 'frame.len', 'udp.srcport',
  'ipv6.src', 'ipv6.dst', 'udp.checksum', 'udp.checksum.status', 'icmpv6.type', 'icmpv6.mtu', 'icmpv6.checksum.status'] as const;

/**
 * Captures up to `count` packets matching `filter` on `dev` in `ns` while `action`
 * runs, then decodes them with tshark. Bounded: tcpdump is stopped after the action
 * even if fewer packets came.
 */
export async function capture(
  ns: string, dev: string, filter: string, count: number, action: () => void | Promise<void>,
): Promise<CapturedPacket[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tabby-cap-'));
  const file = join(dir, 'cap.pcap');
  try {
    const td = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', dev, '-n', '-U', '-c', String(count), '-w', file, filter], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    const exited = new Promise<void>((resolve) => td.on('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${stderr}`)), 10_000);
      td.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      td.on('exit', () => {
        clearTimeout(timer);
        reject(new Error(`tcpdump exited early: ${stderr}`));
      });
    });
    try {
      await action();
    } finally {
      const timer = setTimeout(() => td.kill('SIGINT'), 1_500);
      await exited;
      clearTimeout(timer);
    }
    const out = run('tshark', '-r', file, '-o', 'udp.check_checksum:TRUE', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,',
      ...FIELDS.flatMap((f) => ['-e', f]));
    return out.split('\n').filter((l) => l.trim() !== '').map((line) => {
      const cols = line.split('\t').map((c) => (c === '' ? [] : c.split(',')));
      return {
        ipSrc: cols[0] ?? [], ipDst: cols[1] ?? [], ipProto: cols[2] ?? [], udpDstPort: cols[3] ?? [],
        vni: cols[4] ?? [], ethDst: cols[5] ?? [], ethSrc: cols[6] ?? [], frameLen: Number(cols[7]?.[0] ?? -1),
        udpSrcPort: cols[8] ?? [], ip6Src: cols[9] ?? [], ip6Dst: cols[10] ?? [], udpChecksum: cols[11] ?? [],
        udpChecksumStatus: cols[12] ?? [], icmp6Type: cols[13] ?? [], icmp6Mtu: cols[14] ?? [], icmp6ChecksumStatus: cols[15] ?? [],
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const SERVER = `
const net = require('net'), crypto = require('crypto');
const [host, port] = [process.argv[1], Number(process.argv[2])];
const h = crypto.createHash('sha256'); let n = 0;
const srv = net.createServer((s) => {
  s.on('data', (d) => { h.update(d); n += d.length; });
  s.on('end', () => { process.stdout.write(JSON.stringify({ bytes: n, sha256: h.digest('hex') }) + '\\n'); s.end(); srv.close(); });
});
srv.listen(port, host, () => process.stdout.write('listening\\n'));
setTimeout(() => process.exit(3), 60000).unref();
`;

const CLIENT = `
const net = require('net'), fs = require('fs');
const [host, port, file] = [process.argv[1], Number(process.argv[2]), process.argv[3]];
const s = net.connect(port, host, () => fs.createReadStream(file).pipe(s));
s.on('close', (hadError) => process.exit(hadError ? 1 : 0));
s.on('error', (e) => { console.error(e.message); process.exit(2); });
setTimeout(() => process.exit(3), 60000).unref();
`;

export interface TransferResult {
  sentBytes: number;
  sentSha256: string;
  receivedBytes: number;
  receivedSha256: string;
}

/** Sends `bytes` random bytes over TCP from a process in `fromNs` to one in `toNs` listening on `toAddr`. */
export async function tcpTransfer(fromNs: string, toNs: string, toAddr: string, bytes: number): Promise<TransferResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tabby-tcp-'));
  const file = join(dir, 'data');
  const port = String(randomInt(20_000, 30_000));
  try {
    const data = randomBytes(bytes);
    writeFileSync(file, data);
    const sentSha256 = createHash('sha256').update(data).digest('hex');
    const server = spawn('ip', ['netns', 'exec', toNs, process.execPath, '-e', SERVER, toAddr, port], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    server.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const done = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => { server.kill('SIGKILL'); reject(new Error(`transfer timed out: ${out}${err}`)); }, 60_000);
      server.on('exit', () => { clearTimeout(timer); resolve(out); });
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 10_000);
      server.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('listening')) { clearTimeout(timer); resolve(); }
      });
      server.on('exit', () => { clearTimeout(timer); reject(new Error(`server exited: ${err}`)); });
    });
    const c = spawnSync('ip', ['netns', 'exec', fromNs, process.execPath, '-e', CLIENT, toAddr, port, file], {
      timeout: 60_000, encoding: 'utf8',
    });
    if (c.status !== 0) {
      server.kill('SIGKILL');
      throw new Error(`client failed (${c.status}): ${c.stderr}`);
    }
    const lines = (await done).split('\n').filter((l) => l.startsWith('{'));
    const r = JSON.parse(lines[0] ?? '{}') as { bytes?: number; sha256?: string };
    return { sentBytes: bytes, sentSha256, receivedBytes: r.bytes ?? -1, receivedSha256: r.sha256 ?? '' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Sends raw Ethernet frames out of `dev` in `ns` (AF_PACKET through python3). */
export function sendFrames(ns: string, dev: string, frames: Buffer[]): void {
  const py = 'import socket,sys\ns=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\ns.bind((sys.argv[1],0))\n' +
    'for h in sys.argv[2:]: s.send(bytes.fromhex(h))\n';
  inNs(ns, 'python3', '-c', py, dev, ...frames.map((f) => f.toString('hex')));
}
