// Parser for `tasklist /svc` output, which netsh stores as processes.txt in the
// .cab it writes beside the trace. Two forms: the fixed-width table (column
// widths come from the `=====` rule line, long service lists wrap onto lines
// whose image and PID cells are blank) and `/fo csv`.

import { ProcessesError } from './errors.js';

export interface TasklistRow {
  pid: number;
  image: string;
  /** Service names; empty when tasklist printed N/A. */
  services: string[];
}

export interface TasklistProblem {
  line: number;        // 1-based line number in the decoded text
  text: string;        // the line as read (trailing spaces removed)
  reason: string;
}

export interface ParseTasklistOptions {
  /**
   * When given, lines that do not fit are pushed here and parsing goes on.
   * Without it, any such line makes parseTasklist throw a ProcessesError
   * ('tasklist-lines') that lists every one of them.
   */
  problems?: TasklistProblem[];
}

export type TasklistFormat = 'table' | 'csv';

const MAX_PID = 0xffffffff;

export function parseTasklist(input: string | Uint8Array, options: ParseTasklistOptions = {}): TasklistRow[] {
  return parseTasklistDetailed(input, options).rows;
}

export function parseTasklistDetailed(
  input: string | Uint8Array,
  options: ParseTasklistOptions = {},
): { rows: TasklistRow[]; format: TasklistFormat } {
  const text = typeof input === 'string' ? stripBom(input) : decodeText(input);
  if (text.includes('\0')) {
    const line = lineOfIndex(text, text.indexOf('\0'));
    throw new ProcessesError('tasklist-format', `tasklist: NUL character on line ${line}: not a text file in a known encoding`);
  }
  const lines = text.split(/\r\n|\n|\r/);
  let first = 0;
  while (first < lines.length && lines[first]!.trim() === '') first++;
  if (first === lines.length) throw new ProcessesError('tasklist-format', 'tasklist: the input is empty');

  const problems: TasklistProblem[] = [];
  // CSV when the first line is a quoted record of several fields; else the table.
  const firstFields = lines[first]!.trimStart().startsWith('"') ? splitCsvLine(lines[first]!.trimStart()) : undefined;
  const format: TasklistFormat = Array.isArray(firstFields) && firstFields.length >= 2 ? 'csv' : 'table';
  const rows = format === 'csv' ? parseCsv(lines, first, problems) : parseTable(lines, first, problems);

  if (problems.length > 0) {
    if (options.problems) options.problems.push(...problems);
    else {
      const shown = problems.slice(0, 10).map((p) => `line ${p.line}: ${p.reason}: ${JSON.stringify(p.text.slice(0, 120))}`);
      const more = problems.length > 10 ? `; and ${problems.length - 10} more` : '';
      throw Object.assign(
        new ProcessesError('tasklist-lines', `tasklist: ${problems.length} line(s) do not fit the ${format} layout: ${shown.join('; ')}${more}`),
        { problems },
      );
    }
  }
  return { rows, format };
}

/** Text from bytes: UTF-16LE/BE with BOM, UTF-8 (BOM optional), else Latin-1 (an OEM/ANSI code page we cannot know). */
export function decodeText(bytes: Uint8Array): string {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return decodeUtf16(bytes.subarray(2), 'utf-16le');
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return decodeUtf16(bytes.subarray(2), 'utf-16be');
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return decodeUtf8OrLatin1(bytes.subarray(3));
  // UTF-16LE without BOM: ASCII text then has a zero in every odd byte.
  if (bytes.length >= 4 && bytes.length % 2 === 0 && looksUtf16le(bytes)) return decodeUtf16(bytes, 'utf-16le');
  return decodeUtf8OrLatin1(bytes);
}

function decodeUtf16(bytes: Uint8Array, enc: 'utf-16le' | 'utf-16be'): string {
  if (bytes.length % 2 !== 0) {
    throw new ProcessesError('tasklist-format', `tasklist: UTF-16 text has an odd number of bytes (${bytes.length + 2} with the BOM)`);
  }
  try {
    return new TextDecoder(enc, { fatal: true }).decode(bytes);
  } catch {
    throw new ProcessesError('tasklist-format', 'tasklist: invalid UTF-16 text (unpaired surrogate)');
  }
}

function looksUtf16le(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 512) & ~1;
  let zeroOdd = 0;
  let zeroEven = 0;
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) zeroEven++;
    if (bytes[i + 1] === 0) zeroOdd++;
  }
  return zeroOdd >= (n / 2) * 0.9 && zeroEven === 0;
}

function decodeUtf8OrLatin1(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  }
}

function stripBom(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

function lineOfIndex(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    else if (c === 13 && text.charCodeAt(i + 1) !== 10) line++;
  }
  return line;
}

function parsePid(s: string): number | undefined {
  if (!/^[0-9]{1,10}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= MAX_PID ? n : undefined;
}

// ---------------------------------------------------------------- table form

interface Column {
  start: number;
  width: number;
}

function parseTable(lines: string[], first: number, problems: TasklistProblem[]): TasklistRow[] {
  // Header line, then the rule line. Header text is localised, so only the
  // rule line is trusted for the layout.
  const ruleIndex = first + 1;
  const rule = lines[ruleIndex]?.trimEnd() ?? '';
  const columns = ruleColumns(rule);
  if (!columns) {
    throw new ProcessesError(
      'tasklist-format',
      `tasklist: line ${ruleIndex + 1} should be the "===== ======== =====" rule line under the header ` +
        `(three columns: Image Name, PID, Services): ${JSON.stringify(rule.slice(0, 80))}`,
    );
  }
  const [image, pid, services] = columns;

  const rows: TasklistRow[] = [];
  // Service text of the last row and whether that text is still open to continuation lines.
  let current: { row: TasklistRow; parts: string[]; lastFull: boolean; line: number } | undefined;

  const finish = (): void => {
    if (!current) return;
    const parsed = splitServices(current.parts);
    if (typeof parsed === 'string') {
      problems.push({ line: current.line, text: lines[current.line - 1]!.trimEnd(), reason: parsed });
    } else {
      current.row.services = parsed;
      rows.push(current.row);
    }
    current = undefined;
  };

  for (let i = ruleIndex + 1; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = raw.trimEnd();
    const lineNo = i + 1;
    if (line === '') continue;
    if (/[\t\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(line)) {
      problems.push({ line: lineNo, text: line, reason: 'control character in a table line' });
      continue;
    }
    const imageCell = line.slice(image.start, image.start + image.width);
    const gap1 = line.charAt(pid.start - 1);
    const pidCell = line.slice(pid.start, pid.start + pid.width);
    const gap2 = line.charAt(services.start - 1);
    const servicesCell = line.slice(services.start);

    if (imageCell.trim() === '' && pidCell.trim() === '') {
      // Continuation of a wrapped service list.
      if (servicesCell.trim() === '') {
        problems.push({ line: lineNo, text: line, reason: 'text between the columns' });
        continue;
      }
      if (gap1.trim() !== '' || gap2.trim() !== '') {
        problems.push({ line: lineNo, text: line, reason: 'text in the gap between columns' });
        continue;
      }
      if (!current) {
        problems.push({ line: lineNo, text: line, reason: 'continuation line with no process row before it' });
        continue;
      }
      if (current.parts.length === 1 && current.parts[0]!.trim() === 'N/A') {
        problems.push({ line: lineNo, text: line, reason: 'continuation line after a row whose services are N/A' });
        continue;
      }
      const part = servicesCell.trim();
      // tasklist breaks after ", " between names; a line that does not end in a
      // comma broke inside a name: at a space if it stopped short of the column
      // end, mid-word if it filled the column.
      const prev = current.parts[current.parts.length - 1]!;
      if (!prev.endsWith(',') && current.lastFull) current.parts[current.parts.length - 1] = prev + part;
      else current.parts.push(part);
      current.lastFull = servicesCell.length >= services.width;
      continue;
    }

    finish();
    if (gap1 !== ' ' || (line.length > services.start - 1 && gap2 !== ' ')) {
      problems.push({ line: lineNo, text: line, reason: 'the columns do not line up with the rule line' });
      continue;
    }
    const name = imageCell.trim();
    const pidValue = parsePid(pidCell.trim());
    if (name === '') {
      problems.push({ line: lineNo, text: line, reason: 'PID without an image name' });
      continue;
    }
    if (pidValue === undefined) {
      problems.push({ line: lineNo, text: line, reason: `PID cell ${JSON.stringify(pidCell.trim())} is not a number up to 4294967295` });
      continue;
    }
    const svc = servicesCell.trim();
    if (svc === '') {
      problems.push({ line: lineNo, text: line, reason: 'no Services cell (tasklist prints N/A when a process has none)' });
      continue;
    }
    current = { row: { pid: pidValue, image: name, services: [] }, parts: [svc], lastFull: servicesCell.length >= services.width, line: lineNo };
  }
  finish();
  return rows;
}

/** Three runs of '=' separated by single spaces. */
function ruleColumns(rule: string): [Column, Column, Column] | undefined {
  const m = /^(=+) (=+) (=+)$/.exec(rule);
  if (!m) return undefined;
  const a = m[1]!.length;
  const b = m[2]!.length;
  const c = m[3]!.length;
  return [
    { start: 0, width: a },
    { start: a + 1, width: b },
    { start: a + b + 2, width: c },
  ];
}

/** Joined service text to names; a string result is the reason it does not fit. */
function splitServices(parts: string[]): string[] | string {
  const joined = parts.join(' ');
  if (joined === 'N/A') return [];
  const names = joined.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) return `empty service name in ${JSON.stringify(joined.slice(0, 120))}`;
  if (names.includes('N/A')) return 'N/A mixed with service names';
  return names;
}

// ------------------------------------------------------------------ CSV form

function parseCsv(lines: string[], first: number, problems: TasklistProblem[]): TasklistRow[] {
  const rows: TasklistRow[] = [];
  let headerSeen = false;
  for (let i = first; i < lines.length; i++) {
    const line = lines[i]!;
    const lineNo = i + 1;
    if (line.trim() === '') continue;
    const fields = splitCsvLine(line);
    if (typeof fields === 'string') {
      problems.push({ line: lineNo, text: line.trimEnd(), reason: fields });
      continue;
    }
    if (fields.length !== 3) {
      if (i === first) {
        throw new ProcessesError('tasklist-format', `tasklist: CSV header on line ${lineNo} has ${fields.length} fields; tasklist /svc /fo csv writes 3 (Image Name, PID, Services)`);
      }
      problems.push({ line: lineNo, text: line.trimEnd(), reason: `${fields.length} fields, expected 3` });
      continue;
    }
    const [image, pidText, services] = fields as [string, string, string];
    const pid = parsePid(pidText.trim());
    if (pid === undefined) {
      // The header (localised text) is the first line only; /nh leaves it out.
      if (i === first && !headerSeen) {
        headerSeen = true;
        continue;
      }
      problems.push({ line: lineNo, text: line.trimEnd(), reason: `PID ${JSON.stringify(pidText)} is not a number up to 4294967295` });
      continue;
    }
    if (image.trim() === '') {
      problems.push({ line: lineNo, text: line.trimEnd(), reason: 'empty image name' });
      continue;
    }
    const svc = services.trim();
    if (svc === '') {
      problems.push({ line: lineNo, text: line.trimEnd(), reason: 'empty Services field (tasklist writes N/A)' });
      continue;
    }
    const list = splitServices([svc]);
    if (typeof list === 'string') {
      problems.push({ line: lineNo, text: line.trimEnd(), reason: list });
      continue;
    }
    rows.push({ pid, image: image.trim(), services: list });
  }
  return rows;
}

/** One CSV record on one line: every field quoted as tasklist writes it ("" escapes a quote). */
function splitCsvLine(line: string): string[] | string {
  const fields: string[] = [];
  let p = 0;
  const s = line.trimEnd();
  for (;;) {
    if (s.charAt(p) !== '"') return `field ${fields.length + 1} does not start with a quote at column ${p + 1}`;
    p++;
    let value = '';
    for (;;) {
      const q = s.indexOf('"', p);
      if (q < 0) return `unterminated quoted field ${fields.length + 1}`;
      value += s.slice(p, q);
      if (s.charAt(q + 1) === '"') {
        value += '"';
        p = q + 2;
        continue;
      }
      p = q + 1;
      break;
    }
    fields.push(value);
    if (p === s.length) return fields;
    if (s.charAt(p) !== ',') return `unexpected ${JSON.stringify(s.charAt(p))} after field ${fields.length} at column ${p + 1}`;
    p++;
  }
}
