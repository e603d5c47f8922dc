// CNI's error result (SPEC.md section 5, "Error"): a numeric code, a short msg and longer
// details. Codes below 100 are the spec's well-known ones; 100+ are Tabby's own.
import { TabbyError } from '../errors.js';

/** SPEC.md "Error" table (1.0.0), and STATUS's 50/51 from 1.1.0. */
export const CNI_CODE = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidConfig: 7,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  PluginNotAvailableLimitedConnectivity: 51,
  /** Tabby's own from here: a failure that is none of the above. */
  Internal: 100,
  /** No free address in the pools that apply. */
  IpamExhausted: 101,
  /** CHECK found the attachment not as ADD left it. */
  CheckFailed: 102,
} as const;

export class CniError extends TabbyError {
  override readonly code = 'CNI';
  constructor(
    readonly cniCode: number,
    readonly msg: string,
    readonly details = '',
  ) {
    super(details ? `${msg}: ${details}` : msg);
  }

  /** The JSON the plugin prints on standard out. */
  toJSON(cniVersion: string): { cniVersion: string; code: number; msg: string; details?: string } {
    return { cniVersion, code: this.cniCode, msg: this.msg, ...(this.details ? { details: this.details } : {}) };
  }
}
