// Frame builders for tests that inject raw packets: Ethernet, IPv4, UDP, ICMP echo
// and VXLAN, with the Internet checksum where the header carries one.

export function inetChecksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2) sum += b[b.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export const ip4 = (a: string) => Buffer.from(a.split('.').map(Number));

export interface Ipv4Opts {
  src: string;
  dst: string;
  proto: number;
  payload: Buffer;
  tos?: number;
  /** Flags and fragment offset as the 16-bit field. */
  frag?: number;
  ihl?: number;
  totLen?: number;
  badChecksum?: boolean;
}

export function ipv4(o: Ipv4Opts): Buffer {
  const ihl = o.ihl ?? 5;
  const h = Buffer.alloc(Math.max(ihl, 5) * 4);
  h[0] = 0x40 | ihl;
  h[1] = o.tos ?? 0;
  h.writeUInt16BE(o.totLen ?? h.length + o.payload.length, 2);
  h.writeUInt16BE(0x1234, 4);
  h.writeUInt16BE(o.frag ?? 0x4000, 6);
  h[8] = 64;
  h[9] = o.proto;
  ip4(o.src).copy(h, 12);
  ip4(o.dst).copy(h, 16);
  h.writeUInt16BE(inetChecksum(h) ^ (o.badChecksum ? 0x0f0f : 0), 10);
  return Buffer.concat([h, o.payload]);
}

export function icmpEcho(): Buffer {
  const b = Buffer.alloc(16);
  b[0] = 8;
  b.writeUInt16BE(0x7ab, 4);
  b.writeUInt16BE(1, 6);
  b.writeUInt16BE(inetChecksum(b), 2);
  return b;
}

export function udp(dport: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(40000, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

export function vxlan(vni: number, payload: Buffer, flags = 0x08): Buffer {
  const h = Buffer.alloc(8);
  h[0] = flags;
  h.writeUInt32BE(vni << 8, 4);
  return Buffer.concat([h, payload]);
}

export const mac = (m: string) => Buffer.from(m.split(':').map((x) => parseInt(x, 16)));

export function eth(dst: string, src: string, type: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(14);
  mac(dst).copy(h, 0);
  mac(src).copy(h, 6);
  h.writeUInt16BE(type, 12);
  return Buffer.concat([h, payload]);
}
