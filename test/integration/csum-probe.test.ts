// The BPF_F_IPV6 probe run for real: bpf/csum_probe.bpf.o through BPF_PROG_TEST_RUN on
// this kernel. The flags IPv6 SNAT passes are accepted where the kernel has BPF_F_IPV6
// (its own BTF says so: the enum in vmlinux.h); a flag bit no kernel knows is refused
// with -EINVAL through the same helper path, which is what a kernel before 6.16 does
// with BPF_F_IPV6 (net/core/filter.c bpf_l4_csum_replace: unknown flags -> -EINVAL).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IPV6_SNAT_CSUM_FLAGS, ipv6CsumProbe, probeL4CsumFlags } from '../../src/dataplane/bpf/csum-probe.js';
import { packageRoot } from '../../src/util/package-root.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true });

test('BPF_F_IPV6 probe: accepted on a kernel whose BTF has the flag; an unknown flag bit is refused with -EINVAL', NEEDS, async () => {
  const vmlinux = readFileSync(join(packageRoot, 'bpf', 'build', 'vmlinux.h'), 'utf8');
  const kernelHasFlag = /\bBPF_F_IPV6 = 128,/.test(vmlinux);
  const probe = await probeL4CsumFlags(IPV6_SNAT_CSUM_FLAGS);
  assert.deepStrictEqual(probe, kernelHasFlag ? { accepted: true, retval: 0 } : { accepted: false, retval: -22 });
  assert.deepStrictEqual(await probeL4CsumFlags(IPV6_SNAT_CSUM_FLAGS | 0x100000), { accepted: false, retval: -22 });
  // Memoised per process: the same answer, from one run.
  assert.deepStrictEqual(await ipv6CsumProbe(), probe);
  assert.equal(ipv6CsumProbe(), ipv6CsumProbe());
});
