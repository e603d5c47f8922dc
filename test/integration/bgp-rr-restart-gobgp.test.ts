// The route-reflector restart (bgp-rr-restart.ts) with gobgp clients.
import { rrRestartSuite } from './bgp-rr-restart.js';

rrRestartSuite('gobgp');
