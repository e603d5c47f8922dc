// BGPPeer failureDetectionMode and Tabby's BFD timer annotations. The mode's values come
// from Calico Enterprise's libcalico-go/lib/validator/v3/validator_test.go ("BGPPeer
// FailureDetectionMode": None and BFDIfDirectlyConnected valid, "rubbish" not); Calico's
// open-source API has no timer fields, so the annotations are Tabby's own, validated as
// Enterprise validates its BFDInterface intervals ("a whole number of milliseconds
// greater than 0") and as RFC 5880 §4.1 bounds them (32-bit µs, Detect Mult 1–255).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BFD_ANNOTATIONS, BFD_DEFAULT_TIMERS, bfdTimers } from '../../../src/api/bfd-annotations.js';
import { validateResource } from '../../../src/api/validate.js';
import type { BGPPeer } from '../../../src/api/types.js';
import { desiredPeers } from '../../../src/calc/peers.js';
import { ValidationError } from '../../../src/errors.js';

const peer = (spec: Record<string, unknown>, annotations?: Record<string, string>) => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'BGPPeer',
  metadata: { name: 'tor', ...(annotations ? { annotations } : {}) },
  spec: { peerIP: '10.0.0.254', asNumber: 65001, ...spec },
});

const rejects = (raw: unknown, path: RegExp) =>
  assert.throws(() => validateResource(raw), (err: unknown) => err instanceof ValidationError && path.test(err.message), JSON.stringify(raw));

describe('BGPPeer BFD settings', () => {
  test('failureDetectionMode: None and BFDIfDirectlyConnected accepted, anything else refused', () => {
    validateResource(peer({ failureDetectionMode: 'None' }));
    validateResource(peer({ failureDetectionMode: 'BFDIfDirectlyConnected' }));
    rejects(peer({ failureDetectionMode: 'rubbish' }), /spec\.failureDetectionMode/);
  });

  test('timer annotations: defaults, whole milliseconds, bounds', () => {
    assert.deepEqual(bfdTimers(undefined), BFD_DEFAULT_TIMERS);
    assert.deepEqual(
      bfdTimers({ [BFD_ANNOTATIONS.minimumRecvInterval]: '300ms', [BFD_ANNOTATIONS.minimumSendInterval]: '1s', [BFD_ANNOTATIONS.multiplier]: '3' }),
      { minRxMs: 300, minTxMs: 1000, multiplier: 3 },
    );
    assert.equal(bfdTimers({ [BFD_ANNOTATIONS.minimumSendInterval]: '1m30s' }).minTxMs, 90_000);
    const bad: [string, string, RegExp][] = [
      [BFD_ANNOTATIONS.minimumRecvInterval, '0ms', /greater than 0/],
      [BFD_ANNOTATIONS.minimumRecvInterval, '1500us', /whole number of milliseconds/],
      [BFD_ANNOTATIONS.minimumSendInterval, '100', /duration like 100ms/],
      [BFD_ANNOTATIONS.minimumSendInterval, '2h', /at most 4294967ms/],
      [BFD_ANNOTATIONS.multiplier, '0', /1 to 255/],
      [BFD_ANNOTATIONS.multiplier, '256', /1 to 255/],
      [BFD_ANNOTATIONS.multiplier, '3x', /1 to 255/],
      ['tabby.io/bfd-interval', '100ms', /unknown BFD annotation/],
    ];
    for (const [key, value, why] of bad) {
      rejects(peer({ failureDetectionMode: 'BFDIfDirectlyConnected' }, { [key]: value }), new RegExp(`metadata\\.annotations\\[${key.replace(/\./g, '\\.')}\\].*${why.source}`));
    }
  });

  test('timer annotations without BFD asked for are refused; other annotations are left alone', () => {
    rejects(peer({}, { [BFD_ANNOTATIONS.multiplier]: '3' }), /has no effect unless spec\.failureDetectionMode is BFDIfDirectlyConnected/);
    validateResource(peer({}, { 'example.com/owner': 'team-a' }));
  });

  test('desired peers carry the timers only with BFDIfDirectlyConnected', () => {
    const nodes = [{ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'a' }, spec: { bgp: { ipv4Address: '10.0.0.1/24' } } }] as never;
    const stored = (spec: Record<string, unknown>, annotations?: Record<string, string>) => validateResource(peer(spec, annotations)) as BGPPeer;
    const want = (p: BGPPeer) => desiredPeers({ nodeName: 'a', nodes, peers: [p], configs: [] })[0]!.bfd;
    assert.equal(want(stored({})), undefined);
    assert.equal(want(stored({ failureDetectionMode: 'None' })), undefined);
    assert.deepEqual(want(stored({ failureDetectionMode: 'BFDIfDirectlyConnected' }, { [BFD_ANNOTATIONS.multiplier]: '3' })), { ...BFD_DEFAULT_TIMERS, multiplier: 3 });
  });
});
