import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as errors from '../../src/errors.js';
import { BgpMessageError } from '../../src/bgp/wire/errors.js';
import { BfdPacketError } from '../../src/bfd/errors.js';
import { DataplaneError } from '../../src/dataplane/dataplane.js';
import { CompactedError } from '../../src/datastore/compacted.js';
import { IpamExhaustedError } from '../../src/ipam/ipam.js';
import { CommandError } from '../../src/util/exec.js';

test('every error class has its name and a stable code', () => {
  const table: [Error & { code: string }, string, string][] = [
    [new errors.TabbyError('x'), 'TabbyError', 'TABBY_ERROR'],
    [new errors.ValidationError('spec.a', 'bad'), 'ValidationError', 'VALIDATION'],
    [new errors.SelectorParseError('a ==', 5, 'expected a value'), 'SelectorParseError', 'SELECTOR_PARSE'],
    [new errors.NotFoundError('Node', 'a'), 'NotFoundError', 'NOT_FOUND'],
    [new errors.AlreadyExistsError('Node', 'a'), 'AlreadyExistsError', 'ALREADY_EXISTS'],
    [new errors.ConflictError('Node', 'a', '1', '2'), 'ConflictError', 'CONFLICT'],
    [new errors.DatastoreError('x'), 'DatastoreError', 'DATASTORE'],
    [new errors.NativeError('op', 2, 'x'), 'NativeError', 'NATIVE'],
    [new errors.NetlinkError('route-dump', 2, 'x'), 'NetlinkError', 'NETLINK'],
    [new errors.BpfLoadError('bpf-object-load', 2, 'x'), 'BpfLoadError', 'BPF'],
  ];
  const domain: [Error & { code: string }, string, string][] = [
    [new CompactedError(1, 5), 'CompactedError', 'DATASTORE'],
    [new CommandError(['ip', 'link'], 1, 'boom'), 'CommandError', 'COMMAND'],
    [new IpamExhaustedError('full'), 'IpamExhaustedError', 'IPAM_EXHAUSTED'],
    [new DataplaneError('x'), 'DataplaneError', 'DATAPLANE'],
  ];
  for (const [err, name, code] of [...table, ...domain]) {
    assert.equal(err.name, name);
    assert.equal(err.code, code);
    assert.ok(err instanceof errors.TabbyError);
  }
  // The codec is a leaf and cannot extend TabbyError, but keeps the same shape.
  const bgp = new BgpMessageError('bad', 3, 1, 'treat-as-withdraw');
  assert.deepEqual([bgp.name, bgp.code, bgp.notification.code, bgp.action], ['BgpMessageError', 'BGP_MESSAGE', 3, 'treat-as-withdraw']);
  const bfd = new BfdPacketError('bad', 'version');
  assert.deepEqual([bfd.name, bfd.code, bfd.reason], ['BfdPacketError', 'BFD_PACKET', 'version']);
  assert.equal(new errors.ValidationError('spec.cidr', 'bad', 'doc 1').message, 'doc 1: spec.cidr: bad');
  assert.equal(new errors.NetlinkError('route-add', 17, 'File exists').message, 'route-add: File exists (errno 17)');
});
