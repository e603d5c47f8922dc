// The route-reflector restart (bgp-rr-restart.ts) with frr clients.
import { rrRestartSuite } from './bgp-rr-restart.js';

rrRestartSuite('frr');
