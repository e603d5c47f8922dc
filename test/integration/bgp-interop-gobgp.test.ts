// The interop matrix (bgp-interop.ts) against GoBGP.
import { interopSuite } from './bgp-interop.js';

interopSuite('gobgp');
