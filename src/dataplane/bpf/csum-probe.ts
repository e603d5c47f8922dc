// Does the running kernel's bpf_l4_csum_replace() take BPF_F_IPV6? The SNAT step
// (bpf/lib/nat.h nat_rewrite) passes it on every IPv6 L4 checksum update, as bpf.h asks
// since Linux 6.16 ("bpf: Fix L4 csum update on IPv6 in CHECKSUM_COMPLETE"): without
// it the helper treats an IPv6 pseudo-header change like IPv4's and leaves skb->csum
// wrong on received CHECKSUM_COMPLETE packets. An older kernel refuses the unknown flag
// with -EINVAL at run time, so every IPv6 translation would fail. Probed once per
// process by running bpf/csum_probe.bpf.c on a packet (BPF_PROG_TEST_RUN); when the flag
// is refused, bpf mode refuses IPv6 SNAT at start with this kernel feature named,
// rather than translating with checksums the kernel then gets wrong.

import { bpfObjectClose, bpfObjectLoad } from '../../native/bpf-objects.js';
import { bpfProgTestRun } from '../../native/bpf-test-run.js';
import { bpfObjectPath } from './object-path.js';
import { DataplaneError } from '../dataplane-error.js';

/** uapi bpf.h flags of bpf_l4_csum_replace(). */
export const L4_CSUM_FLAGS = { BPF_F_PSEUDO_HDR: 0x10, BPF_F_MARK_MANGLED_0: 0x20, BPF_F_IPV6: 0x80 } as const;

/** What nat.h passes for an IPv6 UDP address change (the most flags any call takes). */
export const IPV6_SNAT_CSUM_FLAGS = L4_CSUM_FLAGS.BPF_F_IPV6 | L4_CSUM_FLAGS.BPF_F_PSEUDO_HDR | L4_CSUM_FLAGS.BPF_F_MARK_MANGLED_0;

const EINVAL = 22;

export interface CsumProbeResult {
  accepted: boolean;
  /** The helper's return value: 0, or -EINVAL when the kernel does not know a flag. */
  retval: number;
}

/** Runs the probe with `flags`; throws when the probe itself cannot run (no BPF, no object). */
export async function probeL4CsumFlags(flags: number): Promise<CsumProbeResult> {
  const handle = await bpfObjectLoad(bpfObjectPath('csum_probe'), { globals: { probe_flags: BigInt(flags) } });
  try {
    // Ethernet (IPv6 type) and room for the checksum field at offset 16.
    const packet = Buffer.alloc(64);
    packet.writeUInt16BE(0x86dd, 12);
    const { retval } = await bpfProgTestRun(handle, 'tabby_csum_probe', packet);
    if (retval !== 0 && retval !== -EINVAL) throw new DataplaneError(`the BPF_F_IPV6 probe's bpf_l4_csum_replace() returned ${retval}, neither 0 nor -EINVAL`);
    return { accepted: retval === 0, retval };
  } finally {
    await bpfObjectClose(handle);
  }
}

export const BPF_F_IPV6_MISSING =
  'eBPF IPv6 natOutgoing needs bpf_l4_csum_replace() with BPF_F_IPV6 (Linux 6.16 or later), which this kernel refuses: ' +
  'use --dataplane iptables for IPv6, or a newer kernel';

/** Why bpf mode cannot translate IPv6 here, or undefined when it can (or has no IPv6 to translate). */
export function ipv6SnatRefusal(ipv6Snat: boolean, probe: CsumProbeResult): string | undefined {
  return ipv6Snat && !probe.accepted ? BPF_F_IPV6_MISSING : undefined;
}

let cached: Promise<CsumProbeResult> | undefined;

/** The probe of the flags IPv6 SNAT uses, run once per process. */
export function ipv6CsumProbe(): Promise<CsumProbeResult> {
  cached ??= probeL4CsumFlags(IPV6_SNAT_CSUM_FLAGS).catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}
