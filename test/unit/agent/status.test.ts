import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StatusServer } from '../../../src/agent/status-server.js';
import { formatSince, protocolState, type NodeStatusJson } from '../../../src/agent/status.js';
import { tabbyAsync, tempDir } from '../../helpers/cli.js';

const status: NodeStatusJson = {
  node: 'node-a',
  running: true,
  peers: [
    { address: '172.17.8.102', family: 'ipv4', type: 'node-to-node mesh', asn: 64512, state: 'up', info: 'Established', since: '23:30:04', prefixes: { received: 1, accepted: 1, advertised: 1 } },
    { address: '192.20.30.40', family: 'ipv4', type: 'global', asn: 64567, state: 'start', info: 'Active Socket: Connection refused', since: '23:30:05', prefixes: { received: 0, accepted: 0, advertised: 0 } },
  ],
};

test('node status over the agent socket, as a table and as JSON', async () => {
  const { dir, cleanup } = tempDir();
  const server = new StatusServer(dir, (req) => {
    assert.equal(req.cmd, 'status');
    return status;
  });
  try {
    await server.start();
    const json = await tabbyAsync(dir, ['node', 'status', '--state-dir', dir, '-o', 'json']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), status);
    const table = await tabbyAsync(dir, ['node', 'status', '--state-dir', dir]);
    assert.equal(
      table.stdout,
      [
        'Tabby process is running.',
        '',
        'IPv4 BGP status',
        '+--------------+-------------------+-------+----------+-----------------------------------+',
        '| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |               INFO                |',
        '+--------------+-------------------+-------+----------+-----------------------------------+',
        '| 172.17.8.102 | node-to-node mesh | up    | 23:30:04 | Established                       |',
        '| 192.20.30.40 | global            | start | 23:30:05 | Active Socket: Connection refused |',
        '+--------------+-------------------+-------+----------+-----------------------------------+',
        '',
        'IPv6 BGP status',
        'No IPv6 peers found.',
        '',
      ].join('\n'),
    );
  } finally {
    await server.stop();
    cleanup();
  }
});

test('since and state columns', () => {
  const now = new Date(2026, 10, 23, 12, 0, 0);
  assert.equal(formatSince(new Date(2026, 10, 23, 9, 5, 7), now), '09:05:07');
  assert.equal(formatSince(new Date(2026, 10, 20, 9, 5, 7), now), '2026-11-20');
  assert.deepEqual(['Established', 'Active', 'Idle'].map((s) => protocolState(s)), ['up', 'start', 'start']);
});
