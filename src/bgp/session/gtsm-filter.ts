// GTSM (RFC 5082) per peer on a listening socket shared with peers that do not use it.
// IP_MINTTL on the listener is one value for everyone, so with mixed peers it stays 0 and
// the handshake, and whatever the peer sends before accept() returns, went unchecked.
// A classic BPF socket filter on the listener sees each SYN and the handshake's last ACK
// and is inherited by the accepted sockets: it drops a segment from a GTSM peer's
// address whose TTL / hop limit is below that peer's minimum, before any OPEN is read.

import { endianness } from 'node:os';
import { Address6 } from 'ip-address';
import { parseIP } from '../../api/net.js';

export interface GtsmPeer {
  address: string;
  /** Lowest TTL / hop limit accepted: 256 − hops. */
  minTtl: number;
}

// Classic BPF opcodes (linux/filter.h).
const LD_W_ABS = 0x20;
const LD_B_ABS = 0x30;
const ALU_AND_K = 0x54;
const JMP_JA = 0x05;
const JMP_JEQ_K = 0x15;
const JMP_JGE_K = 0x35;
const RET_K = 0x06;
/** SKF_NET_OFF: loads relative to the network header (the filter runs at the TCP header). */
const NET = 0xfff00000;
const ACCEPT = 0xffffffff;
const DROP = 0;

type Insn = [code: number, jt: number, jf: number, k: number];

/** An IPv6 address as four 32-bit words, as `ld [net+8+4j]` loads them. */
function ipv6Words(address: string): number[] {
  const g = new Address6(address).canonicalForm().split(':').map((x) => parseInt(x, 16));
  return [0, 2, 4, 6].map((j) => ((g[j]! << 16) | g[j + 1]!) >>> 0);
}

function ipv4Number(address: string): number {
  return address.split('.').reduce((n, o) => ((n << 8) | Number(o)) >>> 0, 0);
}

/**
 * The filter program for these peers: accept everything except a segment from one of
 * their addresses arriving with a TTL (IPv4) or hop limit (IPv6) below its minimum.
 */
export function gtsmFilterProgram(peers: readonly GtsmPeer[]): Insn[] {
  const v4: GtsmPeer[] = [];
  const v6: Array<GtsmPeer & { w: number[] }> = [];
  for (const p of peers) {
    const ip = parseIP(p.address);
    if (!ip) continue;
    if (ip.family === 4) v4.push({ address: ip.address, minTtl: p.minTtl });
    else v6.push({ address: ip.address, minTtl: p.minTtl, w: ipv6Words(ip.address) });
  }
  const v4Block: Insn[] = [[LD_W_ABS, 0, 0, NET + 12]];
  for (const p of v4) {
    v4Block.push(
      [JMP_JEQ_K, 0, 4, ipv4Number(p.address)], // not this peer: the next block
      [LD_B_ABS, 0, 0, NET + 8], // TTL
      [JMP_JGE_K, 0, 1, p.minTtl],
      [RET_K, 0, 0, ACCEPT],
      [RET_K, 0, 0, DROP],
    );
  }
  v4Block.push([RET_K, 0, 0, ACCEPT]);
  const v6Block: Insn[] = [];
  for (const p of v6) {
    // Twelve instructions per peer; each mismatch jumps to the next peer's first.
    for (let j = 0; j < 4; j++) v6Block.push([LD_W_ABS, 0, 0, NET + 8 + 4 * j], [JMP_JEQ_K, 0, 10 - 2 * j, p.w[j]!]);
    v6Block.push([LD_B_ABS, 0, 0, NET + 7], [JMP_JGE_K, 0, 1, p.minTtl], [RET_K, 0, 0, ACCEPT], [RET_K, 0, 0, DROP]); // hop limit
  }
  v6Block.push([RET_K, 0, 0, ACCEPT]);
  // Dispatch on the IP version nibble; `ja` takes a 32-bit offset, so any size fits.
  const head: Insn[] = [
    [LD_B_ABS, 0, 0, NET + 0],
    [ALU_AND_K, 0, 0, 0xf0],
    [JMP_JEQ_K, 2, 0, 0x60], // IPv6 → the ja below
    [JMP_JEQ_K, 2, 0, 0x40], // IPv4 → v4Block, right after the ja
    [RET_K, 0, 0, ACCEPT],
    [JMP_JA, 0, 0, v4Block.length], // → v6Block
  ];
  return [...head, ...v4Block, ...v6Block];
}

/** The program as SO_ATTACH_FILTER takes it: struct sock_filter {u16 code; u8 jt, jf; u32 k} in host order. */
export function encodeFilter(program: readonly Insn[]): Buffer {
  const le = endianness() === 'LE';
  const b = Buffer.alloc(program.length * 8);
  program.forEach(([code, jt, jf, k], i) => {
    const o = i * 8;
    if (le) b.writeUInt16LE(code, o);
    else b.writeUInt16BE(code, o);
    b[o + 2] = jt;
    b[o + 3] = jf;
    if (le) b.writeUInt32LE(k >>> 0, o + 4);
    else b.writeUInt32BE(k >>> 0, o + 4);
  });
  return b;
}
