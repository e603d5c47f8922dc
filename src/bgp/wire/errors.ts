// The codec's one error class. It decides (code, subcode, data and the RFC 7606 action);
// the session acts on it: sends the NOTIFICATION, withdraws, or just logs.

import { TabbyError } from '../../errors.js';

export type ErrorAction = 'session-reset' | 'treat-as-withdraw' | 'attribute-discard';

export interface NotificationFields {
  code: number;
  subcode: number;
  data: Buffer;
}

const EMPTY = Buffer.alloc(0);

// src/errors.ts imports nothing of the project, so extending its base keeps the codec a leaf.
export class BgpMessageError extends TabbyError {
  override readonly code = 'BGP_MESSAGE';
  readonly notification: NotificationFields;
  readonly action: ErrorAction;

  constructor(message: string, code: number, subcode: number, action: ErrorAction, data: Buffer = EMPTY, options?: ErrorOptions) {
    super(message, options);
    this.notification = { code, subcode, data };
    this.action = action;
  }
}
