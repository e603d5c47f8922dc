// The route-reflector restart (bgp-rr-restart.ts) with exabgp clients.
import { rrRestartSuite } from './bgp-rr-restart.js';

rrRestartSuite('exabgp');
