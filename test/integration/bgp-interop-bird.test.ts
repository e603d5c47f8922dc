// The interop matrix (bgp-interop.ts) against BIRD 2.
import { interopSuite } from './bgp-interop.js';

interopSuite('bird');
