// Probes that natOutgoing must carry beyond TCP/UDP/echo, as python3 one-shots run in a
// namespace: path-MTU discovery over UDP (RFC 1191: a DF datagram too big for a hop
// draws ICMP "fragmentation needed" with the next-hop MTU, and the sender's next send
// fails with EMSGSIZE), traceroute hops (RFC 792 time exceeded / port unreachable, read
// from the socket's error queue as traceroute and tracepath do with IP_RECVERR), and
// raw IP protocols without ports (GRE 47, SCTP 132).

import { spawn } from 'node:child_process';
import { run } from '../../src/util/exec.js';

const PMTU_UDP = String.raw`
import json, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO
s.connect((sys.argv[1], 33000))
size, sent, emsgsize = int(sys.argv[2]), 0, False
for i in range(30):
    try:
        s.send(b'x' * size)
        sent += 1
    except OSError as e:
        if e.errno == 90:  # EMSGSIZE: the path MTU is known to be smaller
            emsgsize = True
            break
        raise
    time.sleep(0.1)
print(json.dumps({'sent': sent, 'emsgsize': emsgsize, 'mtu': s.getsockopt(socket.IPPROTO_IP, 14)}))  # IP_MTU
`;

export interface PmtuResult {
  sent: number;
  emsgsize: boolean;
  mtu: number;
}

/** Sends `size`-byte DF datagrams to `dst` until the kernel refuses them (at most 30, 0.1 s apart). */
export async function udpPmtu(netns: string, dst: string, size: number): Promise<PmtuResult> {
  const r = await run(['python3', '-c', PMTU_UDP, dst, String(size)], { netns, timeoutMs: 20_000 });
  return JSON.parse(r.stdout) as PmtuResult;
}

const TRACE = String.raw`
import json, select, socket, struct, sys
dst, hops = sys.argv[1], int(sys.argv[2])
v6 = ':' in dst
# IP_RECVERR / IPV6_RECVERR and the TTL / hop limit option, per family.
level, recverr, ttlopt = (socket.IPPROTO_IPV6, 25, 16) if v6 else (socket.SOL_IP, 11, socket.IP_TTL)
out = []
for ttl in range(1, hops + 1):
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(level, recverr, 1)
    s.setsockopt(level, ttlopt, ttl)
    s.sendto(b'probe', (dst, 33434 + ttl))
    hop = None
    # An error queued on the socket makes it readable for select (POLLERR).
    if select.select([s], [], [], 2)[0]:
        try:
            _, anc, _, _ = s.recvmsg(512, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
            for lvl, typ, data in anc:
                if lvl == level and typ == recverr:
                    errno, origin, itype, code, _, info, _ = struct.unpack('IBBBBII', data[:16])
                    # The offender: sockaddr_in (address at 4) or sockaddr_in6 (at 8) after the 16-byte header.
                    frm = socket.inet_ntop(socket.AF_INET6, data[24:40]) if v6 else socket.inet_ntoa(data[20:24])
                    hop = {'ttl': ttl, 'origin': origin, 'type': itype, 'code': code, 'from': frm}
        except BlockingIOError:
            pass
    out.append(hop or {'ttl': ttl})
    s.close()
print(json.dumps(out))
`;

export interface TraceHop {
  ttl: number;
  /** SO_EE_ORIGIN_ICMP (2) or SO_EE_ORIGIN_ICMP6 (3) for an ICMP error. */
  origin?: number;
  type?: number;
  code?: number;
  /** The address that sent the error. */
  from?: string;
}

/** One UDP probe per TTL from 1 to `hops`, each hop's ICMP error as the socket's error queue has it. */
export async function traceHops(netns: string, dst: string, hops: number): Promise<TraceHop[]> {
  const r = await run(['python3', '-c', TRACE, dst, String(hops)], { netns, timeoutMs: 30_000 });
  return JSON.parse(r.stdout) as TraceHop[];
}

const RAW_ECHO = String.raw`
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, int(sys.argv[1]))
s.settimeout(15)
print('ready', flush=True)
data, addr = s.recvfrom(2048)
ihl = (data[0] & 15) * 4
s.sendto(b'answer:' + data[ihl:], (addr[0], 0))
`;

const RAW_ASK = String.raw`
import json, socket, sys, time
proto, dst = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
s.settimeout(0.5)
got = None
for i in range(10):
    s.sendto(b'question', (dst, 0))
    try:
        while True:
            data, addr = s.recvfrom(2048)
            ihl = (data[0] & 15) * 4
            if data[ihl:].startswith(b'answer:'):
                got = {'from': addr[0], 'payload': data[ihl:].decode()}
                break
    except socket.timeout:
        pass
    if got:
        break
print(json.dumps(got))
`;

/**
 * A flow of IP protocol `proto` opened from `fromNs` to `to` (a raw socket there answers
 * the first packet): where the answer came from, or null when none came back.
 */
export async function rawProtoExchange(fromNs: string, toNs: string, to: string, proto: number): Promise<{ from: string; payload: string } | null> {
  const server = spawn('ip', ['netns', 'exec', toNs, 'python3', '-c', RAW_ECHO, String(proto)], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('raw echo did not start')), 10_000);
      server.stdout.once('data', () => { clearTimeout(timer); resolve(); });
      server.once('exit', (code) => { clearTimeout(timer); reject(new Error(`raw echo exited ${code}`)); });
    });
    const r = await run(['python3', '-c', RAW_ASK, String(proto), to], { netns: fromNs, timeoutMs: 20_000 });
    return JSON.parse(r.stdout) as { from: string; payload: string } | null;
  } finally {
    if (server.exitCode === null) server.kill('SIGKILL');
  }
}

const MANY_UDP = String.raw`
import json, resource, socket, sys, time
dst, port, n, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
socks = []
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('0.0.0.0', 0))
    socks.append(s)
# Twice, paced: a burst overflows the receive backlog (netdev_max_backlog) before
# the NAT step sees every datagram; a flow's second datagram reuses its binding.
for rnd in range(2):
    for i, s in enumerate(socks):
        s.sendto(('%s:%d' % (tag, i)).encode(), (dst, port))
        if i % 200 == 199:
            time.sleep(0.02)
time.sleep(1)
print(json.dumps([s.getsockname()[1] for s in socks]))
`;

/** `n` UDP sockets, one datagram each to dst:port, all open at once; their local ports. */
export async function manyUdpFlows(netns: string, dst: string, port: number, n: number, tag: string): Promise<number[]> {
  const r = await run(['python3', '-c', MANY_UDP, dst, String(port), String(n), tag], { netns, timeoutMs: 120_000 });
  return JSON.parse(r.stdout) as number[];
}

const SYN_FLOOD = String.raw`
import socket, struct, sys
dsts, n = sys.argv[1].split(','), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
for i in range(n):
    sport = 1024 + i % 64000
    # TCP header: ports, seq, ack, offset 5, SYN, window; checksum left 0 (the target drops it).
    s.sendto(struct.pack('!HHIIBBHHH', sport, 80 + i // 64000, i, 0, 5 << 4, 0x02, 1024, 0, 0), (dsts[i % len(dsts)], 0))
print(n)
`;

/** `n` TCP SYNs from distinct source ports to the addresses in `dsts`, as fast as python sends them. */
export async function synFlood(netns: string, dsts: readonly string[], n: number): Promise<void> {
  await run(['python3', '-c', SYN_FLOOD, dsts.join(','), String(n)], { netns, timeoutMs: 180_000 });
}

const BIG_UDP = String.raw`
import json, socket, sys
dst, port, size, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
body = (tag + ' ').encode() + b'z' * (size - len(tag) - 1)
v6 = ':' in dst
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
# IP_PMTUDISC_DONT / IPV6_PMTUDISC_DONT: fragment rather than refuse
s.setsockopt(socket.IPPROTO_IPV6, 23, 0) if v6 else s.setsockopt(socket.IPPROTO_IP, 10, 0)
s.settimeout(1)
out = None
for i in range(5):
    s.sendto(body, (dst, port))
    try:
        data, peer = s.recvfrom(65535)
    except socket.timeout:
        continue
    ip, p, echoed = data.split(b' ', 2)
    out = {'ip': ip.decode(), 'port': int(p), 'len': len(data), 'match': echoed == body, 'from': peer[0]}
    break
print(json.dumps(out))
`;

/** One `size`-byte UDP datagram (sent in fragments) and its echo (as large): what came back, or null. */
export async function bigUdpEcho(netns: string, dst: string, port: number, size: number, tag: string):
Promise<{ ip: string; port: number; len: number; match: boolean; from: string } | null> {
  const r = await run(['python3', '-c', BIG_UDP, dst, String(port), String(size), tag], { netns, timeoutMs: 20_000 });
  return JSON.parse(r.stdout) as { ip: string; port: number; len: number; match: boolean; from: string } | null;
}
