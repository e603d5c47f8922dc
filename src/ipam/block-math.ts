// Block arithmetic inside a pool, with ip-address doing the parsing and BigInt the sums.
import { Address4, Address6 } from 'ip-address';
import { parseCidr, type Family } from '../api/net.js';

const bits = (f: Family) => (f === 4 ? 32 : 128);
const toText = (f: Family, n: bigint) => (f === 4 ? Address4.fromBigInt(n).correctForm() : Address6.fromBigInt(n).correctForm());
const toBig = (f: Family, addr: string) => (f === 4 ? new Address4(addr).bigInt() : new Address6(addr).bigInt());

/** How many blocks of `blockSize` a pool holds. */
export function blockCount(poolCidr: string, blockSize: number): bigint {
  const pool = parseCidr(poolCidr)!;
  return 1n << BigInt(blockSize - pool.prefixLength);
}

/** The i-th block of the pool as a CIDR. */
export function blockAt(poolCidr: string, blockSize: number, i: bigint): string {
  const pool = parseCidr(poolCidr)!;
  const base = toBig(pool.family, pool.network.split('/')[0]!);
  const step = 1n << BigInt(bits(pool.family) - blockSize);
  return `${toText(pool.family, base + i * step)}/${blockSize}`;
}

/** The n-th address of a block (0 = the network address). */
export function addressAt(blockCidr: string, n: bigint): string {
  const b = parseCidr(blockCidr)!;
  return toText(b.family, toBig(b.family, b.network.split('/')[0]!) + n);
}

/** Number of addresses in a block. */
export function blockAddresses(blockCidr: string): bigint {
  const b = parseCidr(blockCidr)!;
  return 1n << BigInt(bits(b.family) - b.prefixLength);
}

/** Offset of an address inside a block, or -1n when outside. */
export function offsetIn(blockCidr: string, address: string): bigint {
  const b = parseCidr(blockCidr)!;
  let a: bigint;
  try {
    a = toBig(b.family, address);
  } catch {
    return -1n;
  }
  const off = a - toBig(b.family, b.network.split('/')[0]!);
  return off >= 0n && off < blockAddresses(blockCidr) ? off : -1n;
}

/** A stable starting point per node, so nodes starting together rarely race for the same block. */
export function startIndex(nodeName: string, count: bigint): bigint {
  let h = 2166136261;
  for (const c of nodeName) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return BigInt(h) % count;
}

/** Addresses looked at per block when searching for a free one (IPv6 blocks may be huge). */
const SCAN_LIMIT = 4096n;

/**
 * The first address of the block not in `taken`. Every address of a block is assignable,
 * network and broadcast included: workloads get /32s and blocks are not subnets
 * (Calico's libcalico-go/lib/ipam/ipam_block.go newBlock puts ordinals 0…n-1 in Unallocated).
 */
export function freeAddress(blockCidr: string, taken: Record<string, unknown>): string | undefined {
  const size = blockAddresses(blockCidr);
  const limit = size < SCAN_LIMIT ? size : SCAN_LIMIT;
  for (let n = 0n; n < limit; n++) {
    const addr = addressAt(blockCidr, n);
    if (!(addr in taken)) return addr;
  }
  return undefined;
}
