// A scheduled task takes its arguments as one Windows command line: what quoteWindowsArgument
// writes must split back into the same arguments under the Microsoft C runtime's rules ("Parsing
// C++ command-line arguments"), implemented here on their own as the reader.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quoteWindowsArgument, windowsCommandLine } from '../../src/capture/windows-command-line.js';

/** Splits a command line (arguments after the program name) as the C runtime does. */
function splitLikeTheCRuntime(line: string): string[] {
  const args: string[] = [];
  let i = 0;
  for (;;) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (i >= line.length) return args;
    let arg = '';
    let quoted = false;
    for (; i < line.length; i++) {
      const c = line[i]!;
      if (c === '\\') {
        let n = 0;
        while (line[i + n] === '\\') n++;
        if (line[i + n] === '"') {
          arg += '\\'.repeat(Math.floor(n / 2));
          i += n;
          if (n % 2 === 1) arg += '"';
          else quoted = !quoted;
        } else {
          arg += '\\'.repeat(n);
          i += n - 1;
        }
      } else if (c === '"') quoted = !quoted;
      else if ((c === ' ' || c === '\t') && !quoted) break;
      else arg += c;
    }
    args.push(arg);
  }
}

describe('windowsCommandLine', () => {
  it('leaves plain arguments alone and quotes what needs it', () => {
    expect(windowsCommandLine(['capture', 'stop', '--dir', 'C:\\ProgramData\\etl-imds'])).toBe('capture stop --dir C:\\ProgramData\\etl-imds');
    expect(quoteWindowsArgument('C:\\Program Files\\etl-imds\\')).toBe('"C:\\Program Files\\etl-imds\\\\"');
    expect(quoteWindowsArgument('')).toBe('""');
    expect(quoteWindowsArgument('say "hi"')).toBe('"say \\"hi\\""');
    expect(quoteWindowsArgument('a\\\\"b')).toBe('"a\\\\\\\\\\"b"');
  });

  it('splits back into the same arguments, whatever they hold', () => {
    const text = fc.stringMatching(/^[ab \t"\\\n]{0,12}$/);
    fc.assert(
      fc.property(fc.array(fc.oneof(text, fc.string()), { minLength: 1, maxLength: 6 }), (args) => {
        expect(splitLikeTheCRuntime(windowsCommandLine(args))).toEqual(args);
      }),
      { numRuns: 2000 },
    );
  });
});
