// The interop matrix (bgp-interop.ts) against FRR.
import { interopSuite } from './bgp-interop.js';

interopSuite('frr');
