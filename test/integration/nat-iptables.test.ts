// iptables mode on its own, in a bare namespace: it leaves everyone else's rules and
// sets exactly as they were, and its periodic resync puts back a deleted jump.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { IptablesNat } from '../../src/dataplane/nat/iptables-nat.js';
import { NAT_CHAINS, parseNatTable } from '../../src/dataplane/nat/iptables-nat-rules.js';
import { createNetns, deleteNetns } from '../../src/lab/topology.js';
import { run, waitFor } from '../../src/util/exec.js';
import { needs } from '../helpers/require.js';

const NEEDS = needs({ root: true, tools: ['ip', 'iptables', 'iptables-save', 'iptables-restore', 'ipset'] });

const POOLS = [
  { cidr: '10.66.0.0/16', natOutgoing: true },
  { cidr: '10.67.0.0/16', natOutgoing: false },
  { cidr: 'fd00:66::/48', natOutgoing: true },
];

// Rules and a set of someone else's, in tables and chains Tabby also uses.
const FOREIGN_V4 = `*nat
:foreign-chain - [0:0]
-A POSTROUTING -o eth9 -j MASQUERADE
-A POSTROUTING -j foreign-chain
-A foreign-chain -m set --match-set foreign-set src -j RETURN
COMMIT
*filter
-A FORWARD -s 10.66.0.0/16 -j ACCEPT
COMMIT
`;

function withoutTabby(save: string): string[] {
  return save.split('\n').filter((l) => !l.startsWith('#') && !/tabby/.test(l));
}

describe('natOutgoing (iptables) in a namespace shared with other rules', { ...NEEDS, timeout: 60_000 }, () => {
  const netns = `tbn-ipt-${randomBytes(3).toString('hex')}`;
  const sh = (argv: string[], input?: string) => run(argv, input === undefined ? { netns } : { netns, input });

  before(async () => {
    await createNetns(netns);
    await sh(['ipset', 'create', 'foreign-set', 'hash:ip']);
    await sh(['iptables-restore', '--noflush'], FOREIGN_V4);
    await sh(['ip6tables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth9', '-j', 'MASQUERADE']);
  });

  after(async () => {
    await deleteNetns(netns);
  });

  test('apply() and cleanup() leave every rule and set not Tabby\'s exactly as it was', async () => {
    const before4 = withoutTabby((await sh(['iptables-save'])).stdout);
    const before6 = withoutTabby((await sh(['ip6tables-save'])).stdout);
    const nat = new IptablesNat({ netns });
    try {
      nat.setPools(POOLS);
      assert.ok((await nat.apply()).changes > 0);
      const state = parseNatTable((await sh(['iptables-save', '-t', 'nat'])).stdout);
      assert.equal(state.jumps.length, 1);
      assert.equal(state.chains.get(NAT_CHAINS.natOutgoing)?.length, 1);
      assert.deepEqual(withoutTabby((await sh(['iptables-save'])).stdout), before4);
      assert.deepEqual(withoutTabby((await sh(['ip6tables-save'])).stdout), before6);
      assert.match((await sh(['ipset', 'list', 'tabby60masq-ipam-pools'])).stdout, /fd00:66::\/48/);
    } finally {
      await nat.cleanup();
    }
    assert.deepEqual(withoutTabby((await sh(['iptables-save'])).stdout), before4);
    assert.doesNotMatch((await sh(['iptables-save'])).stdout + (await sh(['ip6tables-save'])).stdout, /tabby/);
    assert.deepEqual((await sh(['ipset', 'list', '-n'])).stdout.trim().split('\n'), ['foreign-set']);
  });

  test('the periodic resync puts back a deleted jump and removes a duplicate', async () => {
    const nat = new IptablesNat({ netns, families: [4] });
    const jumps = async () => parseNatTable((await sh(['iptables-save', '-t', 'nat'])).stdout).jumps.length;
    try {
      nat.setPools(POOLS);
      await nat.apply();
      nat.startResync(200);
      await sh(['iptables', '-t', 'nat', '-D', 'POSTROUTING', '-j', NAT_CHAINS.postrouting]);
      assert.equal(await jumps(), 0);
      await waitFor('the jump to come back', async () => (await jumps()) === 1, 5_000, 100);
      await sh(['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-j', NAT_CHAINS.postrouting]);
      await waitFor('the duplicate to go', async () => (await jumps()) === 1, 5_000, 100);
      await sh(['iptables', '-t', 'nat', '-F', NAT_CHAINS.natOutgoing]);
      await waitFor('the rule to come back', async () =>
        parseNatTable((await sh(['iptables-save', '-t', 'nat'])).stdout).chains.get(NAT_CHAINS.natOutgoing)?.length === 1, 5_000, 100);
    } finally {
      await nat.cleanup();
    }
  });
});
