// The route-reflector restart (bgp-rr-restart.ts) with bird clients.
import { rrRestartSuite } from './bgp-rr-restart.js';

rrRestartSuite('bird');
