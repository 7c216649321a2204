// Output text held back until a scan ends (results come out in input order, and nothing is printed
// when the scan fails or is interrupted). Kept in memory while small; beyond that in a temporary
// file, so that the requests of thousands of traces are never all in memory at once.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { CliError, EXIT } from './exit.js';

/** Bytes kept in memory before spilling to a file (ETL_IMDS_SPOOL_BYTES overrides it, for tests). */
function defaultLimit(): number {
  const v = Number(process.env.ETL_IMDS_SPOOL_BYTES);
  return Number.isFinite(v) && v >= 0 ? v : 8 * 1024 * 1024;
}

const CHUNK = 1 << 20;

// Spools with a file are closed (and their files removed) when the process exits, by one listener
// for all of them.
const openSpools = new Set<Spool>();
let exitListener = false;

function removeOnExit(s: Spool): void {
  openSpools.add(s);
  if (exitListener) return;
  exitListener = true;
  process.on('exit', () => {
    for (const o of [...openSpools]) o.close();
  });
}

export class Spool {
  private parts: string[] = [];
  private memBytes = 0;
  private fd: number | null = null;
  /** Set while the file still has a name (Windows cannot remove an open file). */
  private file: string | null = null;
  private fileBytes = 0;

  constructor(private limit = defaultLimit()) {}

  write(text: string): void {
    if (this.fd === null) {
      this.parts.push(text);
      this.memBytes += Buffer.byteLength(text);
      if (this.memBytes > this.limit) this.spill();
      return;
    }
    this.writeFile(Buffer.from(text));
  }

  /** The text, in pieces of about `chunkBytes` (a megabyte). */
  *chunks(chunkBytes = CHUNK): Generator<string> {
    if (this.fd === null) {
      let piece: string[] = [];
      let n = 0;
      for (const p of this.parts) {
        piece.push(p);
        n += p.length;
        if (n >= chunkBytes) {
          yield piece.join('');
          piece = [];
          n = 0;
        }
      }
      if (piece.length) yield piece.join('');
      return;
    }
    const buf = Buffer.allocUnsafe(chunkBytes);
    // The decoder keeps a UTF-8 sequence cut by a chunk boundary for the next chunk.
    const dec = new StringDecoder('utf8');
    for (let pos = 0; pos < this.fileBytes; ) {
      const n = readSync(this.fd, buf, 0, Math.min(chunkBytes, this.fileBytes - pos), pos);
      if (n <= 0) throw new CliError('the temporary file ended early', EXIT.input);
      pos += n;
      const text = dec.write(buf.subarray(0, n));
      if (text) yield text;
    }
    const tail = dec.end();
    if (tail) yield tail;
  }

  /** Lines of the text (without their '\n'), read `chunkBytes` at a time. */
  *lines(chunkBytes = CHUNK): Generator<string> {
    let rest = '';
    for (const c of this.chunks(chunkBytes)) {
      const parts = (rest + c).split('\n');
      rest = parts.pop()!;
      yield* parts;
    }
    if (rest) yield rest;
  }

  close(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
    if (this.file !== null) {
      try {
        unlinkSync(this.file);
      } catch {
        // already gone
      }
      this.file = null;
    }
    openSpools.delete(this);
    this.parts = [];
    this.memBytes = 0;
  }

  private spill(): void {
    const file = path.join(os.tmpdir(), `etl-imds-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
    let fd: number;
    try {
      fd = openSync(file, 'wx+', 0o600);
    } catch {
      // No temporary directory to write to: keep everything in memory, as before there was a spool.
      this.limit = Infinity;
      return;
    }
    this.fd = fd;
    this.file = file;
    removeOnExit(this);
    // A file without a name disappears with the process, however it ends (not on Windows).
    if (process.platform !== 'win32') {
      try {
        unlinkSync(file);
        this.file = null;
      } catch {
        // removed by close()
      }
    }
    const parts = this.parts;
    this.parts = [];
    this.memBytes = 0;
    for (const p of parts) this.writeFile(Buffer.from(p));
  }

  private writeFile(b: Buffer): void {
    let off = 0;
    try {
      while (off < b.length) off += writeSync(this.fd!, b, off, b.length - off, this.fileBytes + off);
    } catch (e) {
      throw new CliError(`cannot write the temporary file in ${os.tmpdir()}: ${(e as Error).message}`, EXIT.input);
    }
    this.fileBytes += b.length;
  }
}

/** Writes text to stdout, waiting when the pipe is full (so a large output is not queued in memory). */
export async function writeOut(text: string): Promise<void> {
  if (!process.stdout.write(text)) await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
}
