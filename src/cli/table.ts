// Plain-text tables for terminals: columns padded to their widest cell.
export function table(head: string[], rows: string[][], rightAlign: boolean[] = []): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = rowFormatter(widths, rightAlign);
  return [fmt(head), rule(widths), ...rows.map(fmt)].join('\n');
}

/** Formats one row for columns of the given widths (for rows that are not all in memory). */
export function rowFormatter(widths: number[], rightAlign: boolean[] = []): (r: string[]) => string {
  return (r) =>
    r
      .map((c, i) => (rightAlign[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
}

/** The dashes under the head. */
export function rule(widths: number[]): string {
  return widths.map((w) => '-'.repeat(w)).join('  ');
}
