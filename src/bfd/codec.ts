// BFD Control packets (RFC 5880 §4.1), Buffers in and out. A leaf: imports nothing else
// of the project; the packet checks of §6.8.6 that need no session are done here.

import { BFD_CONTROL_LENGTH, BFD_CONTROL_LENGTH_AUTH, BFD_VERSION, type BfdState } from './constants.js';
import { BfdPacketError } from './errors.js';

export interface BfdControl {
  version: number;
  diag: number;
  state: BfdState;
  poll: boolean;
  final: boolean;
  /** C: the sender's BFD does not share fate with its control plane. */
  controlPlaneIndependent: boolean;
  /** A: an Authentication Section follows. */
  authPresent: boolean;
  demand: boolean;
  multipoint: boolean;
  detectMult: number;
  length: number;
  myDiscriminator: number;
  yourDiscriminator: number;
  /** Microseconds, as on the wire. */
  desiredMinTxInterval: number;
  requiredMinRxInterval: number;
  requiredMinEchoRxInterval: number;
  /** The Authentication Section as received (type and the whole section), when A is set. */
  auth?: { type: number; section: Buffer };
}

/** What a sender chooses; version, length, M, A and the auth section are the codec's (no authentication). */
export type BfdControlFields = Pick<
  BfdControl,
  'diag' | 'state' | 'poll' | 'final' | 'demand' | 'detectMult' | 'myDiscriminator' | 'yourDiscriminator' | 'desiredMinTxInterval' | 'requiredMinRxInterval' | 'requiredMinEchoRxInterval'
> & { controlPlaneIndependent?: boolean };

const U32_MAX = 0xffffffff;

function u32(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > U32_MAX) throw new RangeError(`${name} must be a 32-bit unsigned integer, got ${v}`);
  return v;
}

export function encodeControl(c: BfdControlFields): Buffer {
  if (c.poll && c.final) throw new RangeError('a Control packet never has both Poll and Final set (RFC 5880 §6.5)');
  if (!Number.isInteger(c.detectMult) || c.detectMult < 1 || c.detectMult > 255) throw new RangeError(`detectMult must be 1..255, got ${c.detectMult}`);
  if (!Number.isInteger(c.diag) || c.diag < 0 || c.diag > 31) throw new RangeError(`diag must be 0..31, got ${c.diag}`);
  const b = Buffer.alloc(BFD_CONTROL_LENGTH);
  b[0] = (BFD_VERSION << 5) | c.diag;
  b[1] = (c.state << 6) | (c.poll ? 0x20 : 0) | (c.final ? 0x10 : 0) | (c.controlPlaneIndependent ? 0x08 : 0) | (c.demand ? 0x02 : 0);
  b[2] = c.detectMult;
  b[3] = BFD_CONTROL_LENGTH;
  b.writeUInt32BE(u32('myDiscriminator', c.myDiscriminator), 4);
  b.writeUInt32BE(u32('yourDiscriminator', c.yourDiscriminator), 8);
  b.writeUInt32BE(u32('desiredMinTxInterval', c.desiredMinTxInterval), 12);
  b.writeUInt32BE(u32('requiredMinRxInterval', c.requiredMinRxInterval), 16);
  b.writeUInt32BE(u32('requiredMinEchoRxInterval', c.requiredMinEchoRxInterval), 20);
  return b;
}

/**
 * Decodes one UDP payload. Throws BfdPacketError for the packets RFC 5880 §6.8.6 says
 * to discard before any session is looked at.
 */
export function decodeControl(payload: Buffer): BfdControl {
  if (payload.length < BFD_CONTROL_LENGTH) throw new BfdPacketError(`${payload.length} octets: shorter than a Control packet`, 'short');
  const version = payload[0]! >> 5;
  if (version !== BFD_VERSION) throw new BfdPacketError(`version ${version}, not ${BFD_VERSION}`, 'version');
  const flags = payload[1]!;
  const authPresent = (flags & 0x04) !== 0;
  const length = payload[3]!;
  const least = authPresent ? BFD_CONTROL_LENGTH_AUTH : BFD_CONTROL_LENGTH;
  if (length < least) throw new BfdPacketError(`Length ${length} is below ${least}`, 'length');
  if (length > payload.length) throw new BfdPacketError(`Length ${length} is more than the ${payload.length} octets received`, 'length');
  const detectMult = payload[2]!;
  if (detectMult === 0) throw new BfdPacketError('Detect Mult is zero', 'detect-mult');
  if ((flags & 0x01) !== 0) throw new BfdPacketError('the Multipoint bit is set', 'multipoint');
  const myDiscriminator = payload.readUInt32BE(4);
  if (myDiscriminator === 0) throw new BfdPacketError('My Discriminator is zero', 'my-discriminator');
  const c: BfdControl = {
    version,
    diag: payload[0]! & 0x1f,
    state: (flags >> 6) as BfdState,
    poll: (flags & 0x20) !== 0,
    final: (flags & 0x10) !== 0,
    controlPlaneIndependent: (flags & 0x08) !== 0,
    authPresent,
    demand: (flags & 0x02) !== 0,
    multipoint: false,
    detectMult,
    length,
    myDiscriminator,
    yourDiscriminator: payload.readUInt32BE(8),
    desiredMinTxInterval: payload.readUInt32BE(12),
    requiredMinRxInterval: payload.readUInt32BE(16),
    requiredMinEchoRxInterval: payload.readUInt32BE(20),
  };
  if (authPresent) c.auth = { type: payload[BFD_CONTROL_LENGTH]!, section: Buffer.from(payload.subarray(BFD_CONTROL_LENGTH, length)) };
  return c;
}
