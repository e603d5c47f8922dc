import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseAddress, parseMethod } from '../../../src/agent/autodetect.js';
import type { Address } from '../../../src/native/addresses.js';
import type { Link } from '../../../src/native/links.js';

const link = (index: number, name: string, up = true): Link => ({ index, name, type: 'ether', mtu: 1500, up, lowerUp: up });
const addr = (ifindex: number, cidr: string, scope = 0): Address => {
  const [address, len] = cidr.split('/');
  return { ifindex, family: cidr.includes(':') ? 6 : 4, address: address!, prefixLength: Number(len), cidr, scope, tentative: false };
};

const links = [link(1, 'lo'), link(2, 'docker0'), link(3, 'eth0'), link(4, 'eth1'), link(5, 'cali1234'), link(6, 'eth2', false)];
const addrs = [
  addr(1, '127.0.0.1/8', 254),
  addr(2, '172.17.0.1/16'),
  addr(3, '192.0.2.99/32'), // a VIP on eth0
  addr(3, '10.0.0.5/24'),
  addr(4, '10.1.0.5/24'),
  addr(6, '10.9.0.5/24'),
  addr(3, 'fe80::1/64', 253),
  addr(3, 'fd00::5/64'),
];

test('autodetection methods', () => {
  const cases: [string, 4 | 6, string | undefined, string?][] = [
    ['first-found', 4, '10.0.0.5/24'], // not docker0, not the /32 VIP, not the down eth2
    ['first-found', 6, 'fd00::5/64'],
    ['interface=eth1', 4, '10.1.0.5/24'],
    ['interface=eth9,eth1', 4, '10.1.0.5/24'],
    ['interface=docker.*', 4, '172.17.0.1/16'],
    ['skip-interface=eth0', 4, '10.1.0.5/24'],
    ['cidr=10.9.0.0/16', 4, '10.9.0.5/24'],
    ['cidr=10.200.0.0/16', 4, undefined],
    ['can-reach=10.1.0.1', 4, '10.1.0.5/24', '10.1.0.5'],
  ];
  for (const [method, family, want, src] of cases) {
    assert.equal(chooseAddress(parseMethod(method), family, links, addrs, src), want, method);
  }
});

test('bad methods are refused clearly', () => {
  assert.throws(() => parseMethod('nearest'), /unknown autodetection method "nearest"/);
  assert.throws(() => parseMethod('interface=('), /bad regular expression/);
  assert.throws(() => parseMethod('cidr='), /unknown autodetection method/);
});
