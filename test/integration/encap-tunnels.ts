// The tunnel implementations the encap tests run against, each set up on one host
// of a Topology towards the other: Calico's kernel VXLAN device, and encap.bpf.o
// doing VXLAN or IPIP. Same shape, so one test table covers them all.

import { BpfEncap } from '../../src/dataplane/encap/bpf-encap.js';
import { ENCAP_OVERHEAD, tunnelMtu } from '../../src/dataplane/encap/encap-mtu.js';
import type { EncapKind } from '../../src/dataplane/encap/encap-map-codec.js';
import { tunnelRoute } from '../../src/dataplane/encap/tunnel-route.js';
import { inNs, other, run, type Side, type Topology } from './encap-topology.js';

export interface TunnelHandle {
  /** Set for the eBPF implementations. */
  bpf?: BpfEncap;
  close(): Promise<void>;
}

export interface TunnelImpl {
  name: string;
  /** What the underlay carries. */
  wire: EncapKind;
  overhead: number;
  setup(t: Topology, self: Side): Promise<TunnelHandle>;
}

export const VNI = 4096;
export const VXLAN_PORT = 4789;

/** Calico's kernel VXLAN: vxlan.calico, static neighbour + FDB entry per peer, learning off. */
export const kernelVxlan: TunnelImpl = {
  name: 'kernel VXLAN',
  wire: 'vxlan',
  overhead: ENCAP_OVERHEAD.vxlan,
  async setup(t, self) {
    const h = t.hosts[self];
    const p = t.hosts[other(self)];
    const dev = 'vxlan.calico';
    run('ip', '-n', h.ns, 'link', 'add', dev, 'type', 'vxlan', 'id', String(VNI), 'dstport', String(VXLAN_PORT),
      'local', h.underlayIP, 'dev', 'eth0', 'nolearning');
    try {
      run('ip', '-n', h.ns, 'link', 'set', dev, 'address', h.vtepMac, 'mtu', String(tunnelMtu(t.hostMtu, 'vxlan')), 'up');
      run('ip', '-n', h.ns, 'addr', 'add', `${h.tunnelIP}/32`, 'dev', dev);
      run('ip', '-n', h.ns, 'neigh', 'add', p.tunnelIP, 'lladdr', p.vtepMac, 'dev', dev, 'nud', 'permanent');
      inNs(h.ns, 'bridge', 'fdb', 'add', p.vtepMac, 'dev', dev, 'dst', p.underlayIP, 'self', 'permanent');
      run('ip', '-n', h.ns, 'route', 'add', p.block, 'via', p.tunnelIP, 'dev', dev, 'onlink');
    } catch (err) {
      run('ip', '-n', h.ns, 'link', 'del', dev);
      throw err;
    }
    return {
      async close() {
        // Its routes, neighbours and FDB entries go with the device.
        run('ip', '-n', h.ns, 'link', 'del', dev);
      },
    };
  },
};

function ebpf(kind: EncapKind): TunnelImpl {
  return {
    name: `eBPF ${kind === 'ipip' ? 'IPIP' : 'VXLAN'}`,
    wire: kind,
    overhead: ENCAP_OVERHEAD[kind],
    async setup(t, self) {
      const h = t.hosts[self];
      const p = t.hosts[other(self)];
      const bpf = new BpfEncap();
      await bpf.load({ ifname: 'eth0', netns: h.ns, nodeIP: h.underlayIP, ifindex: h.ifindex, vtepMac: h.vtepMac });
      const route = tunnelRoute({ block: p.block, remoteIP: p.underlayIP, kind, dev: 'eth0', hostMtu: t.hostMtu });
      try {
        await bpf.setEntries([{ block: p.block, remoteIP: p.underlayIP, kind, ...(kind === 'vxlan' ? { vtepMac: p.vtepMac } : {}) }]);
        run('ip', '-n', h.ns, 'route', 'add', route.dst, 'via', route.gateway, 'dev', route.dev, 'onlink', 'mtu', String(route.mtu));
      } catch (err) {
        await bpf.close();
        throw err;
      }
      return {
        bpf,
        async close() {
          try {
            run('ip', '-n', h.ns, 'route', 'del', route.dst);
          } finally {
            await bpf.close();
          }
        },
      };
    },
  };
}

export const ebpfVxlan = ebpf('vxlan');
export const ebpfIpip = ebpf('ipip');
