// A tiny pcap reader for the captured sessions: classic pcap, Ethernet, IPv4, TCP, and
// reassembly of each TCP direction by sequence number.

export interface Packet {
  time: number;
  data: Buffer;
}

export interface TcpStream {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  /** The reassembled payload of this direction, in sequence order. */
  data: Buffer;
}

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
const LINKTYPE_ETHERNET = 1;

export function readPcap(file: Buffer): Packet[] {
  if (file.length < 24) throw new Error('pcap: truncated global header');
  let le: boolean;
  let ns: boolean;
  const magicLe = file.readUInt32LE(0);
  const magicBe = file.readUInt32BE(0);
  if (magicLe === MAGIC_US || magicLe === MAGIC_NS) [le, ns] = [true, magicLe === MAGIC_NS];
  else if (magicBe === MAGIC_US || magicBe === MAGIC_NS) [le, ns] = [false, magicBe === MAGIC_NS];
  else throw new Error('pcap: bad magic');
  const u32 = (p: number): number => (le ? file.readUInt32LE(p) : file.readUInt32BE(p));
  if (u32(20) !== LINKTYPE_ETHERNET) throw new Error(`pcap: link type ${u32(20)} is not Ethernet`);
  const packets: Packet[] = [];
  let p = 24;
  while (p < file.length) {
    if (file.length - p < 16) throw new Error('pcap: truncated record header');
    const time = u32(p) + u32(p + 4) / (ns ? 1e9 : 1e6);
    const caplen = u32(p + 8);
    p += 16;
    if (p + caplen > file.length) throw new Error('pcap: truncated record');
    packets.push({ time, data: file.subarray(p, p + caplen) });
    p += caplen;
  }
  return packets;
}

interface Segment {
  seq: number;
  syn: boolean;
  payload: Buffer;
}

function ipv4(b: Buffer, p: number): string {
  return `${b[p]}.${b[p + 1]}.${b[p + 2]}.${b[p + 3]}`;
}

/** Every TCP direction in the capture, in order of first appearance. */
export function tcpStreams(packets: Packet[]): TcpStream[] {
  const flows = new Map<string, { stream: Omit<TcpStream, 'data'>; segments: Segment[] }>();
  for (const { data: f } of packets) {
    let p = 12;
    let etherType = f.readUInt16BE(p);
    while (etherType === 0x8100) {
      p += 4;
      etherType = f.readUInt16BE(p);
    }
    p += 2;
    if (etherType !== 0x0800) continue;
    const ihl = (f[p]! & 0x0f) * 4;
    const totalLength = f.readUInt16BE(p + 2);
    if (f[p + 9] !== 6) continue;
    const src = ipv4(f, p + 12);
    const dst = ipv4(f, p + 16);
    const ipEnd = p + totalLength; // Ethernet may pad short frames
    const t = p + ihl;
    const srcPort = f.readUInt16BE(t);
    const dstPort = f.readUInt16BE(t + 2);
    const seq = f.readUInt32BE(t + 4);
    const tcpHeader = (f[t + 12]! >>> 4) * 4;
    const syn = (f[t + 13]! & 0x02) !== 0;
    const key = `${src}:${srcPort}>${dst}:${dstPort}`;
    let flow = flows.get(key);
    if (!flow) flows.set(key, (flow = { stream: { src, srcPort, dst, dstPort }, segments: [] }));
    flow.segments.push({ seq, syn, payload: f.subarray(t + tcpHeader, ipEnd) });
  }
  const out: TcpStream[] = [];
  for (const { stream, segments } of flows.values()) {
    const synSeg = segments.find((s) => s.syn);
    const base = synSeg ? (synSeg.seq + 1) >>> 0 : segments[0]!.seq;
    const pieces = segments
      .filter((s) => s.payload.length > 0)
      .map((s) => ({ offset: (s.seq - base) >>> 0, payload: s.payload }))
      .sort((a, b) => a.offset - b.offset);
    const parts: Buffer[] = [];
    let have = 0;
    for (const { offset, payload } of pieces) {
      if (offset > have) throw new Error(`${stream.src}:${stream.srcPort}: gap at relative sequence ${have}`);
      if (offset + payload.length <= have) continue; // retransmission
      parts.push(payload.subarray(have - offset));
      have = offset + payload.length;
    }
    out.push({ ...stream, data: Buffer.concat(parts) });
  }
  return out;
}
