// Replays test/fixtures/bgp/malformed/*.json: each file is one malformed message (hex)
// with the NOTIFICATION code/subcode, RFC 7606 action, and for treat-as-withdraw the
// prefixes that must be withdrawn. A bug fix adds a file named after the bug.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import {
  BgpMessageError,
  decodeMessage,
  INTERNAL_DECODER_ERROR,
  routeChanges,
  type ErrorAction,
  type Family,
} from '../../../../src/bgp/wire/index.js';
import { fixture, options } from './helpers.js';

interface Case {
  name: string;
  note: string;
  hex: string;
  options?: { fourOctetAs?: boolean; addPath?: Family[]; extendedMessage?: boolean };
  expect: { code: number; subcode: number; action: ErrorAction; data?: string; withdraw?: string[] };
}

const dir = fixture('malformed');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

test('the malformed corpus has at least 20 cases', () => {
  assert.ok(files.length >= 20, `${files.length} cases`);
});

function check(err: BgpMessageError, want: Case['expect']): void {
  assert.ok(!err.message.startsWith(INTERNAL_DECODER_ERROR), err.message);
  assert.equal(err.code, 'BGP_MESSAGE');
  assert.deepEqual(
    { code: err.notification.code, subcode: err.notification.subcode, action: err.action },
    { code: want.code, subcode: want.subcode, action: want.action },
    err.message,
  );
  if (want.data !== undefined) assert.equal(err.notification.data.toString('hex'), want.data);
}

for (const file of files) {
  const c = JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as Case;
  test(`malformed: ${c.name} (${c.note})`, () => {
    const msg = Buffer.from(c.hex, 'hex');
    const opts = options({
      fourOctetAs: c.options?.fourOctetAs ?? true,
      receive: c.options?.addPath ?? [],
      extendedMessage: c.options?.extendedMessage ?? false,
    });
    if (c.expect.action === 'session-reset') {
      assert.throws(
        () => decodeMessage(msg, opts),
        (err: unknown) => {
          assert.ok(err instanceof BgpMessageError, String(err));
          check(err, c.expect);
          return true;
        },
      );
      return;
    }
    const decoded = decodeMessage(msg, opts);
    assert.equal(decoded.type, 'update');
    if (decoded.type !== 'update') return;
    const u = decoded.update;
    if (c.expect.action === 'treat-as-withdraw') {
      assert.ok(u.treatAsWithdraw, 'treatAsWithdraw is set');
      check(u.treatAsWithdraw, c.expect);
      const changes = routeChanges(u);
      assert.deepEqual(changes.flatMap((ch) => ch.announced), []);
      assert.deepEqual(changes.flatMap((ch) => ch.withdrawn), c.expect.withdraw ?? []);
    } else {
      assert.equal(u.treatAsWithdraw, undefined);
      assert.equal(u.discarded.length, 1);
      check(u.discarded[0]!, c.expect);
    }
  });
}
