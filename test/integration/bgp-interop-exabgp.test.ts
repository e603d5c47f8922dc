// The interop matrix (bgp-interop.ts) against ExaBGP.
import { interopSuite } from './bgp-interop.js';

interopSuite('exabgp');
