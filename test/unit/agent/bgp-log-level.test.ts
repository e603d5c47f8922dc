// logSeverityScreen sets the BGP speaker's log level, as calico-node's confd sets BIRD's
// (bgp_processor.go populateNodeConfig: the node's `loglevel` key, else the global one,
// decides `debug all` versus `debug { states }`). Loggers made before the change follow it.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { BgpLogLevel } from '../../../src/agent/bgp-log-level.js';
import type { BGPConfiguration, Node } from '../../../src/api/types.js';
import { nodePlan } from '../../../src/calc/node-plan.js';

test('a new severity reaches loggers already derived from the speaker\'s; unset goes back to the agent\'s level', () => {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) });
  const root = pino({ level: 'info' }, sink);
  const bgp = new BgpLogLevel(root);
  const session = bgp.logger.child({ component: 'bgp' }).child({ peer: 'Mesh_10_0_0_2' });
  session.debug('before');
  bgp.set('Debug');
  session.debug('after');
  bgp.logger.child({ peer: 'new' }).trace('not at debug');
  bgp.set('Warning');
  session.info('quiet');
  bgp.set(undefined);
  session.info('agent level');
  root.debug('the agent itself is untouched');
  assert.deepEqual(lines.map((l) => JSON.parse(l).msg), ['after', 'agent level']);
  assert.throws(() => bgp.set('Loud'), /logSeverityScreen: unknown log level/);
});

test('the plan carries logSeverityScreen only when set, a node.<name> override over default', () => {
  const node = (name: string, v4: string): Node => ({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name }, spec: { bgp: { ipv4Address: v4 } } });
  const conf = (name: string, spec: BGPConfiguration['spec']): BGPConfiguration => ({ apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name }, spec });
  const res = (configs: BGPConfiguration[]) => ({ nodes: [node('n1', '10.0.0.1/24')], configs, pools: [], blocks: [], peers: [] });
  const facts = { name: 'n1', cidrs: ['10.0.0.1/24'] };
  assert.equal(nodePlan(res([]), facts)!.bgpLogSeverity, undefined);
  assert.equal(nodePlan(res([conf('default', { logSeverityScreen: 'debug' })]), facts)!.bgpLogSeverity, 'Debug');
  assert.equal(nodePlan(res([conf('default', { logSeverityScreen: 'Debug' }), conf('node.n1', { logSeverityScreen: 'Error' })]), facts)!.bgpLogSeverity, 'Error');
});
