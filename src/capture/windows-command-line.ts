// One Windows command line from an argument array, for the places Windows takes a single string
// (a scheduled task's <Arguments>). Programs split it again as the Microsoft C runtime and
// CommandLineToArgvW do ("Parsing C++ command-line arguments"): arguments are separated by spaces
// or tabs; a double quote starts or ends a quoted part; backslashes are literal unless they come
// before a double quote, where each pair stands for one backslash and an odd one escapes the quote.
// So an argument is quoted when it is empty or holds a space, tab or quote; inside the quotes every
// quote is escaped, and the backslashes before a quote or the closing quote are doubled.

export function quoteWindowsArgument(arg: string): string {
  if (arg !== '' && !/[ \t\n\v"]/.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const c of arg) {
    if (c === '\\') {
      backslashes++;
      continue;
    }
    if (c === '"') out += '\\'.repeat(2 * backslashes + 1) + '"';
    else out += '\\'.repeat(backslashes) + c;
    backslashes = 0;
  }
  return out + '\\'.repeat(2 * backslashes) + '"';
}

export function windowsCommandLine(args: string[]): string {
  return args.map(quoteWindowsArgument).join(' ');
}
