import { TabbyError } from '../errors.js';

/** The dataplane could not do what was asked (a resource ran out, a mode is unsupported). */
export class DataplaneError extends TabbyError {
  override readonly code = 'DATAPLANE';
}
