// CNI_* parameters as SPEC.md (1.0.0) section 2 defines them: required per command,
// container ID and interface name rules, and error 4 naming the variables at fault.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCniEnv, validIfname } from '../../../src/cni/cni-env.js';
import { CniError } from '../../../src/cni/cni-error.js';

const base = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc-1.x_y', CNI_NETNS: '/var/run/netns/c1', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin:/usr/lib/cni' };

const fails = (env: NodeJS.ProcessEnv, names: RegExp) =>
  assert.throws(() => parseCniEnv(env), (e: unknown) => e instanceof CniError && e.cniCode === 4 && names.test(e.msg), JSON.stringify(env));

test('a well-formed ADD', () => {
  const env = parseCniEnv({ ...base, CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p' });
  assert.equal(env.command, 'ADD');
  assert.deepEqual(env.args, { IgnoreUnknown: '1', K8S_POD_NAMESPACE: 'ns', K8S_POD_NAME: 'p' });
  assert.deepEqual(env.path, ['/opt/cni/bin', '/usr/lib/cni']);
});

test('required variables per command (ADD and CHECK need the netns, DEL does not, VERSION needs nothing)', () => {
  fails({ ...base, CNI_NETNS: undefined }, /CNI_NETNS/);
  fails({ ...base, CNI_COMMAND: 'CHECK', CNI_IFNAME: '' }, /CNI_IFNAME/);
  fails({ ...base, CNI_COMMAND: 'DEL', CNI_CONTAINERID: undefined }, /CNI_CONTAINERID/);
  assert.equal(parseCniEnv({ ...base, CNI_COMMAND: 'DEL', CNI_NETNS: '' }).netns, '');
  assert.equal(parseCniEnv({ CNI_COMMAND: 'VERSION' }).command, 'VERSION');
  // libcni probes VERSION with CNI_NETNS, CNI_IFNAME and CNI_PATH set to "dummy".
  assert.equal(parseCniEnv({ CNI_COMMAND: 'VERSION', CNI_NETNS: 'dummy', CNI_IFNAME: 'dummy', CNI_CONTAINERID: 'dummy' }).command, 'VERSION');
  assert.equal(parseCniEnv({ CNI_COMMAND: 'GC', CNI_NETNS: 'x y' }).command, 'GC');
  fails({}, /CNI_COMMAND/);
  fails({ ...base, CNI_COMMAND: 'add' }, /CNI_COMMAND/);
  // Every bad variable is named, not just the first.
  fails({ CNI_COMMAND: 'ADD' }, /CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME/);
});

test('container ID, interface name, netns and CNI_ARGS shapes', () => {
  fails({ ...base, CNI_CONTAINERID: '-leading-dash' }, /CNI_CONTAINERID/);
  fails({ ...base, CNI_CONTAINERID: 'has space' }, /CNI_CONTAINERID/);
  fails({ ...base, CNI_NETNS: 'relative/path' }, /CNI_NETNS/);
  fails({ ...base, CNI_ARGS: 'novalue' }, /CNI_ARGS/);
  // SPEC.md: fewer than 16 characters, not "." or "..", no "/", ":" or whitespace.
  for (const bad of ['', '.', '..', 'a/b', 'a:b', 'a b', 'a\tb', '0123456789abcdef']) assert.equal(validIfname(bad), false, bad);
  for (const good of ['eth0', 'net1', '0123456789abcde', 'a.b-c_d']) assert.equal(validIfname(good), true, good);
});
