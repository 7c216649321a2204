// Bounds-checked little-endian reader over event payloads. Every read names
// the field it wanted, so a short payload says exactly where it fell short.

import { ProcessesError } from './errors.js';

export class PayloadReader {
  readonly data: Uint8Array;
  private readonly view: DataView;
  pos: number;
  private readonly what: string;

  constructor(data: Uint8Array, what: string, pos = 0) {
    this.data = data;
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.pos = pos;
    this.what = what;
  }

  get remaining(): number {
    return this.data.length - this.pos;
  }

  fail(field: string, need: number): never {
    throw new ProcessesError(
      'payload',
      `${this.what}: field ${field} needs ${need} bytes at payload offset ${this.pos}, ` +
        `but the payload is ${this.data.length} bytes`,
      this.pos,
    );
  }

  private need(field: string, n: number): void {
    if (n > this.data.length - this.pos) this.fail(field, n);
  }

  u8(field: string): number {
    this.need(field, 1);
    return this.data[this.pos++]!;
  }

  u32(field: string): number {
    this.need(field, 4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  i32(field: string): number {
    this.need(field, 4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  u64(field: string): bigint {
    this.need(field, 8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A pointer-sized value (4 or 8 bytes as the event's header type says). */
  ptr(field: string, size: 4 | 8): bigint {
    return size === 8 ? this.u64(field) : BigInt(this.u32(field));
  }

  skip(field: string, n: number): void {
    this.need(field, n);
    this.pos += n;
  }

  /** NUL-terminated 8-bit string; Windows writes these in the ANSI code page. */
  ansiz(field: string): string {
    const start = this.pos;
    const end = this.data.indexOf(0, start);
    if (end < 0) this.fail(`${field} (NUL-terminated string)`, this.data.length - start + 1);
    this.pos = end + 1;
    return latin1(this.data.subarray(start, end));
  }

  /** NUL-terminated UTF-16LE string. */
  utf16z(field: string): string {
    const start = this.pos;
    let p = start;
    for (;;) {
      if (p + 2 > this.data.length) this.fail(`${field} (NUL-terminated UTF-16 string)`, p + 2 - start);
      if (this.data[p] === 0 && this.data[p + 1] === 0) break;
      p += 2;
    }
    this.pos = p + 2;
    return utf16le(this.data.subarray(start, p));
  }

  /** Fixed array of `chars` UTF-16 units, value ends at the first NUL. */
  utf16fixed(field: string, chars: number): string {
    this.need(field, chars * 2);
    const raw = this.data.subarray(this.pos, this.pos + chars * 2);
    this.pos += chars * 2;
    let end = 0;
    while (end + 1 < raw.length && !(raw[end] === 0 && raw[end + 1] === 0)) end += 2;
    return utf16le(raw.subarray(0, end));
  }

  /** A binary SID (revision, count, 6-byte authority, count x u32) as S-1-... text. */
  sid(field: string): string {
    const start = this.pos;
    const revision = this.u8(`${field}.Revision`);
    const count = this.u8(`${field}.SubAuthorityCount`);
    // SID_MAX_SUB_AUTHORITIES is 15; anything more is not a SID.
    if (count > 15) {
      this.pos = start;
      throw new ProcessesError('payload', `${this.what}: ${field} claims ${count} sub-authorities (max 15) at payload offset ${start}`, start);
    }
    this.need(`${field}.IdentifierAuthority`, 6);
    let authority = 0;
    for (let i = 0; i < 6; i++) authority = authority * 256 + this.data[this.pos + i]!;
    this.pos += 6;
    let text = `S-${revision}-${authority}`;
    for (let i = 0; i < count; i++) text += `-${this.u32(`${field}.SubAuthority[${i}]`)}`;
    return text;
  }
}

export function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, Math.min(bytes.length, i + 4096)));
  }
  return s;
}

/**
 * UTF-16LE code units as they are, unpaired surrogates included (a decoder would replace those
 * with U+FFFD): a command line is whatever its process was given, and JSON must give it back.
 */
export function utf16le(bytes: Uint8Array): string {
  const units = new Uint16Array(bytes.length >> 1);
  for (let i = 0; i < units.length; i++) units[i] = bytes[2 * i]! | (bytes[2 * i + 1]! << 8);
  let s = '';
  for (let i = 0; i < units.length; i += 4096) s += String.fromCharCode(...units.subarray(i, i + 4096));
  return s;
}

/** Last path component of a Windows (or NT device) path. */
export function windowsBaseName(path: string): string {
  const i = Math.max(path.lastIndexOf('\\'), path.lastIndexOf('/'));
  return i >= 0 ? path.slice(i + 1) : path;
}
