// -o forms as calicoctl accepts them (calicoctl/calicoctl/commands/get.go: "yaml", "yml",
// "json", "ps", "wide", custom-columns=..., go-template=..., go-template-file=...; anything
// else "unrecognized output format"), and the CLI's one-line errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOutputFormat, render } from '../../../src/cli/output.js';
import { oneLine, errorText } from '../../../src/cli/error-text.js';
import { ValidationError } from '../../../src/errors.js';
import type { Resource } from '../../../src/api/types.js';

test('output forms calicoctl accepts (get.go switch)', () => {
  const cases: [string, unknown][] = [
    ['ps', 'table'],
    ['table', 'table'],
    ['wide', 'wide'],
    ['yaml', 'yaml'],
    ['yml', 'yaml'],
    ['json', 'json'],
    ['custom-columns=NAME,ASN', { columns: ['NAME', 'ASN'] }],
    ['custom-columns=name, peerip', { columns: ['name', 'peerip'] }],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseOutputFormat(text), want, text);
});

test('forms Tabby does not offer are refused with what it does offer', () => {
  const cases: [string, RegExp][] = [
    ['go-template={{.}}', /go-template is not offered by Tabby.*-o json/],
    ['go-template-file=/tmp/t', /go-template-file is not offered/],
    ['custom-columns=', /at least one column/],
    ['xml', /unrecognized output format "xml"; use table \(or ps\), wide, yaml \(or yml\), json, custom-columns/],
    ['YAML', /unrecognized output format/],
  ];
  for (const [text, re] of cases) assert.throws(() => parseOutputFormat(text), (e: unknown) => e instanceof ValidationError && re.test(e.message), text);
});

test('custom-columns picks the named -o wide columns in order; an unknown one lists the valid ones', async () => {
  const pool = { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'p1' }, spec: { cidr: '10.0.0.0/16', natOutgoing: true } } as unknown as Resource;
  const text = await render('IPPool', [pool], { columns: ['nat', 'NAME'] });
  assert.deepEqual(text.trimEnd().split('\n').map((l) => l.split(/\s+/)), [['NAT', 'NAME'], ['true', 'p1']]);
  // calicoctl resourcemgr: "Unknown heading %s, valid values are: %s".
  await assert.rejects(render('IPPool', [pool], { columns: ['FOO'] }), /Unknown heading FOO, valid values are: NAME, CIDR, NAT, IPIPMODE/);
});

test('errors keep their whole text on one line', () => {
  assert.equal(oneLine('Invalid values:\n  Argument: output, Given: "ps", Choices: "table"'), 'Invalid values: Argument: output, Given: "ps", Choices: "table"');
  assert.equal(oneLine('first\nsecond\n\n  third  '), 'first; second; third');
  assert.equal(errorText(new Error('a\nb')), 'a; b');
  assert.equal(errorText('plain'), 'plain');
});
