// The decision the BPF_F_IPV6 probe feeds: bpf mode refuses IPv6 SNAT, naming the kernel
// feature, only when there is IPv6 to translate and the kernel refused the flag.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BPF_F_IPV6_MISSING, IPV6_SNAT_CSUM_FLAGS, ipv6SnatRefusal, L4_CSUM_FLAGS } from '../../../../src/dataplane/bpf/csum-probe.js';

test('IPv6 SNAT is refused when the kernel refused BPF_F_IPV6, and only then', () => {
  const refused = { accepted: false, retval: -22 };
  const accepted = { accepted: true, retval: 0 };
  assert.equal(ipv6SnatRefusal(true, refused), BPF_F_IPV6_MISSING);
  assert.equal(ipv6SnatRefusal(true, accepted), undefined);
  assert.equal(ipv6SnatRefusal(false, refused), undefined, 'no IPv6 node address: nothing to refuse');
  // One line naming the helper, the flag and the kernel that has it, and what to do instead.
  assert.doesNotMatch(BPF_F_IPV6_MISSING, /\n/);
  assert.match(BPF_F_IPV6_MISSING, /bpf_l4_csum_replace\(\) with BPF_F_IPV6 \(Linux 6\.16 or later\)/);
  assert.match(BPF_F_IPV6_MISSING, /--dataplane iptables/);
});

test('the probed flags are the uapi values nat.h passes for an IPv6 UDP rewrite', () => {
  // include/uapi/linux/bpf.h: BPF_F_PSEUDO_HDR (1ULL << 4), BPF_F_MARK_MANGLED_0 (1ULL << 5), BPF_F_IPV6 (1ULL << 7).
  assert.deepStrictEqual(L4_CSUM_FLAGS, { BPF_F_PSEUDO_HDR: 1 << 4, BPF_F_MARK_MANGLED_0: 1 << 5, BPF_F_IPV6: 1 << 7 });
  assert.equal(IPV6_SNAT_CSUM_FLAGS, 0xb0);
});
