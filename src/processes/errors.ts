// One error type for everything src/processes reads from untrusted input, so
// callers (and the property tests) can tell "bad input" from a bug.

export type ProcessesErrorCode =
  | 'tasklist-format'   // not a tasklist /svc table or CSV at all
  | 'tasklist-lines'    // some lines did not fit the table (see problems)
  | 'cab-format'        // structure of the cabinet is wrong
  | 'cab-truncated'     // a length points past the end of the cabinet
  | 'cab-unsupported'   // valid cabinet, but a feature we do not read (LZX, Quantum, spanning)
  | 'cab-corrupt'       // checksum or compressed data is wrong
  | 'cab-limit'         // output would exceed the caller's limit
  | 'payload';          // an event payload does not fit its layout

export class ProcessesError extends Error {
  readonly code: ProcessesErrorCode;
  /** Byte offset in the input the message refers to, when there is one. */
  readonly offset?: number;
  constructor(code: ProcessesErrorCode, message: string, offset?: number) {
    super(message);
    this.name = 'ProcessesError';
    this.code = code;
    if (offset !== undefined) this.offset = offset;
  }
}
