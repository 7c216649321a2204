// One error type for everything src/processes reads from untrusted input, so
// callers (and the property tests) can tell "bad input" from a bug. It has
// the shape of every other diagnostic: code, message, file, byte offset.

import type { Diagnostic } from '../native/types.js';

export type ProcessesErrorCode =
  | 'tasklist-format'   // not a tasklist /svc table or CSV at all
  | 'tasklist-lines'    // some lines did not fit the table (see problems)
  | 'cab-format'        // structure of the cabinet is wrong
  | 'cab-truncated'     // a length points past the end of the cabinet
  | 'cab-unsupported'   // valid cabinet, but a feature we do not read (LZX, Quantum, spanning)
  | 'cab-corrupt'       // checksum or compressed data is wrong
  | 'cab-limit'         // output would exceed the caller's limit
  | 'payload';          // a process or service event lacks a field its kind has

export class ProcessesError extends Error implements Diagnostic<ProcessesErrorCode> {
  readonly severity = 'error' as const;
  readonly code: ProcessesErrorCode;
  /** Byte offset in the input the message refers to (0 when none). */
  readonly offset: number;
  readonly buffer = -1;
  /** The input, once the caller that opened it knows ('' before). */
  readonly file: string;
  constructor(code: ProcessesErrorCode, message: string, offset = 0, file = '') {
    super(message);
    this.name = 'ProcessesError';
    this.code = code;
    this.offset = offset;
    this.file = file;
  }
}
