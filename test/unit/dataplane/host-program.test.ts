// The host programs' owner and features refuse bad options before anything is loaded
// (no kernel, no addon needed).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../../src/errors.js';
import { HOST_PROGRAMS, HOST_TC_HANDLE, HOST_TC_PRIORITY, HostProgram, hostSlot } from '../../../src/dataplane/bpf/host-program.js';
import { BpfEncap } from '../../../src/dataplane/encap/bpf-encap.js';
import { HOST_MAPS_EPOCH, hostMapsVersion } from '../../../src/dataplane/bpf/host-pins.js';
import { BpfSnat } from '../../../src/dataplane/nat/bpf-snat.js';

test('one fixed slot by default; a given one is checked', () => {
  assert.deepEqual(hostSlot({ ifname: 'eth0' }), { priority: HOST_TC_PRIORITY, handle: HOST_TC_HANDLE });
  assert.deepEqual(hostSlot({ ifname: 'eth0', priority: 7, filterHandle: 9 }), { priority: 7, handle: 9 });
  for (const [bad, path] of [[{ priority: 0 }, 'priority'], [{ priority: 65536 }, 'priority'], [{ filterHandle: 0 }, 'filterHandle'], [{ filterHandle: 2 ** 32 }, 'filterHandle']] as const) {
    assert.throws(() => new HostProgram({ ifname: 'eth0', ...bad }), (e: unknown) => e instanceof ValidationError && e.path === path);
  }
  assert.throws(() => new HostProgram({ ifname: 'eth0', ifindex: -1 }), ValidationError);
  for (const pinRoot of ['tabby', '/', '/sys/fs/bpf/tabby/']) {
    assert.throws(() => new HostProgram({ ifname: 'eth0', pinRoot }), (e: unknown) => e instanceof ValidationError && e.path === 'pinRoot', pinRoot);
  }
  assert.throws(() => new HostProgram({ ifname: 'eth0', pinRoot: '/sys/fs/bpf/t', mapsVersion: '../x' }), ValidationError);
  // The maps' directory is named by the epoch and the shared layouts, so a layout change moves it.
  assert.match(hostMapsVersion(), new RegExp(`^e${HOST_MAPS_EPOCH}-[0-9a-f]{12}$`));
  // The kernel keeps 15 characters of a program name; both must survive whole.
  assert.ok(Object.values(HOST_PROGRAMS).every((p) => p.length <= 15));
});

test('features: load-time values are checked when declared, and only what is on is switched on', async () => {
  const host = new HostProgram({ ifname: 'eth0' });
  assert.throws(() => new BpfEncap(host, { nodeIP: '0.0.0.0' }), ValidationError);
  assert.throws(() => new BpfEncap(host, { nodeIP: '10.0.0.1', vxlanPort: 0 }), ValidationError);
  const encap = new BpfEncap(host, { nodeIP: '10.0.0.1' });
  assert.equal(encap.globals().enable_encap, 1);
  assert.equal(encap.globals().enable_snat, undefined);
  assert.throws(() => encap.configure({ vtepMac: 'ff:ff:ff:ff:ff:ff' }), ValidationError, 'a broadcast MAC is no VTEP');
  assert.equal(encap.options.vtepMac, undefined, 'a refused change changes nothing');
  const snat = new BpfSnat(host, { nodeIP: '10.0.0.1', checkLocalPortRange: false });
  assert.deepEqual(snat.globals(), { enable_snat: 1 });
  await assert.rejects(new BpfSnat(host, { checkLocalPortRange: false }).prepare(null), (e: unknown) => e instanceof ValidationError && e.path === 'nodeIP');
  await assert.rejects(new BpfSnat(host, { nodeIP: '10.0.0.1', portRange: { min: 2000, max: 1000 }, checkLocalPortRange: false }).prepare(null), ValidationError);
  // Map writes need a loaded object.
  assert.throws(() => snat.setPools([]), ValidationError);
  await assert.rejects(encap.setEntries([]), ValidationError);
});
