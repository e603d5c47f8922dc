// One error hierarchy (STYLE "Errors", undici lib/core/errors.js): every class in src/
// has its name, a stable code and TabbyError as its root. The table is checked against
// the classes the sources declare, so a new class without a row fails here.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import * as errors from '../../src/errors.js';
import { AutodetectError } from '../../src/agent/autodetect.js';
import { SecretError } from '../../src/agent/secrets.js';
import { BenchError } from '../../src/bench/common.js';
import { TargetMissedError } from '../../src/cli/commands/bench.js';
import { BgpMessageError } from '../../src/bgp/wire/errors.js';
import { BfdPacketError, BfdTransportError } from '../../src/bfd/errors.js';
import { DataplaneError } from '../../src/dataplane/dataplane-error.js';
import { CompactedError } from '../../src/datastore/compacted.js';
import { EndpointDownError } from '../../src/datastore/etcd-client.js';
import { IpamExhaustedError } from '../../src/ipam/ipam.js';
import { LabError } from '../../src/lab/lab-state.js';
import { UnsupportedFieldError } from '../../src/api/refusals.js';
import { CommandError } from '../../src/util/exec.js';
import { CniError } from '../../src/cni/cni-error.js';
import { ROOT } from '../helpers/paths.js';

const TABLE: [Error & { code: string }, string, string][] = [
  [new errors.TabbyError('x'), 'TabbyError', 'TABBY_ERROR'],
  [new errors.ValidationError('spec.a', 'bad'), 'ValidationError', 'VALIDATION'],
  [new errors.SelectorParseError('a ==', 5, 'expected a value'), 'SelectorParseError', 'SELECTOR_PARSE'],
  [new errors.NotFoundError('Node', 'a'), 'NotFoundError', 'NOT_FOUND'],
  [new errors.AlreadyExistsError('Node', 'a'), 'AlreadyExistsError', 'ALREADY_EXISTS'],
  [new errors.ConflictError('Node', 'a', '1', '2'), 'ConflictError', 'CONFLICT'],
  [new errors.DatastoreError('x'), 'DatastoreError', 'DATASTORE'],
  [new errors.UsageError('--nodes must be 1 to 20'), 'UsageError', 'USAGE'],
  [new errors.StateError('stopped'), 'StateError', 'INVALID_STATE'],
  [new errors.NativeError('op', 2, 'x'), 'NativeError', 'NATIVE'],
  [new errors.NetlinkError('route-dump', 2, 'x'), 'NetlinkError', 'NETLINK'],
  [new errors.BpfLoadError('bpf-object-load', 2, 'x'), 'BpfLoadError', 'BPF'],
  [new CompactedError(1, 5), 'CompactedError', 'COMPACTED'],
  [new EndpointDownError('10.0.0.1:2379'), 'EndpointDownError', 'ENDPOINT_DOWN'],
  [new CommandError(['ip', 'link'], 1, 'boom'), 'CommandError', 'COMMAND'],
  [new IpamExhaustedError('full'), 'IpamExhaustedError', 'IPAM_EXHAUSTED'],
  [new DataplaneError('x'), 'DataplaneError', 'DATAPLANE'],
  [new BgpMessageError('bad', 3, 1, 'treat-as-withdraw'), 'BgpMessageError', 'BGP_MESSAGE'],
  [new BfdPacketError('bad', 'version'), 'BfdPacketError', 'BFD_PACKET'],
  [new BfdTransportError('x'), 'BfdTransportError', 'BFD_TRANSPORT'],
  [new SecretError('x'), 'SecretError', 'SECRET'],
  [new AutodetectError('x'), 'AutodetectError', 'AUTODETECT'],
  [new LabError('x'), 'LabError', 'LAB'],
  [new BenchError('x'), 'BenchError', 'BENCH'],
  [new CniError(7, 'invalid network name', 'name "-x"'), 'CniError', 'CNI'],
  [new TargetMissedError('x'), 'TargetMissedError', 'BENCH_TARGET_MISSED'],
  // A refused field is a validation failure to every caller: it keeps its parent's code.
  [new UnsupportedFieldError('spec.wireguard', 'no WireGuard'), 'UnsupportedFieldError', 'VALIDATION'],
];
const SHARES_PARENT_CODE = new Set(['UnsupportedFieldError']);

test('every error class has its name, a stable code, and TabbyError as its root', () => {
  for (const [err, name, code] of TABLE) {
    assert.equal(err.name, name);
    assert.equal(err.code, code);
    assert.ok(err instanceof errors.TabbyError, `${name} extends TabbyError`);
  }
  const codes = TABLE.filter(([, name]) => !SHARES_PARENT_CODE.has(name)).map(([e]) => e.code);
  assert.equal(new Set(codes).size, codes.length, 'codes are unique');
  const bgp = new BgpMessageError('bad', 3, 1, 'treat-as-withdraw');
  assert.deepEqual([bgp.notification.code, bgp.notification.subcode, bgp.action], [3, 1, 'treat-as-withdraw']);
  assert.equal(new BfdPacketError('bad', 'version').reason, 'version');
  assert.equal(new errors.ValidationError('spec.cidr', 'bad', 'doc 1').message, 'doc 1: spec.cidr: bad');
  assert.equal(new errors.NetlinkError('route-add', 17, 'File exists').message, 'route-add: File exists (errno 17)');
});

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('the table names every error class declared in src/', () => {
  const declared = new Map<string, string>();
  for (const f of sources(join(ROOT, 'src'))) {
    for (const m of readFileSync(f, 'utf8').matchAll(/\bclass (\w+) extends (\w*Error)\b/g)) declared.set(m[1]!, relative(ROOT, f));
  }
  assert.ok(declared.size >= TABLE.length - 1, `found ${declared.size} classes`);
  const inTable = new Set(TABLE.map(([, name]) => name));
  const missing = [...declared].filter(([name]) => !inTable.has(name)).map(([name, f]) => `${name} (${f})`);
  assert.deepEqual(missing, [], 'error classes without a row in the table');
});

test('src/ throws no plain Error for what the CLI or a log shows', () => {
  const plain: string[] = [];
  for (const f of sources(join(ROOT, 'src'))) {
    readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
      if (/\bnew Error\(/.test(line) && !/^\s*(\/\/|\*)/.test(line)) plain.push(`${relative(ROOT, f)}:${i + 1}`);
    });
  }
  assert.deepEqual(plain, []);
});

test('logs carry the error itself ({err}), not its message', () => {
  const stripped: string[] = [];
  for (const f of sources(join(ROOT, 'src'))) {
    readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
      if (/\berr: \(?\w+( as Error\))?\.message\b/.test(line)) stripped.push(`${relative(ROOT, f)}:${i + 1}`);
    });
  }
  assert.deepEqual(stripped, []);
});
