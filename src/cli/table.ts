// Plain-text tables for terminals: columns padded to their widest cell, measured in terminal
// columns (a CJK character takes two), and fitted to the width of the console.
import { cutToWidth, displayWidth, padToWidth } from './text.js';

export function table(head: string[], rows: string[][], rightAlign: boolean[] = []): string {
  const widths = head.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ''))));
  const fmt = rowFormatter(widths, rightAlign);
  return [fmt(head), rule(widths), ...rows.map(fmt)].join('\n');
}

/** Formats one row for columns of the given widths (for rows that are not all in memory). */
export function rowFormatter(widths: number[], rightAlign: boolean[] = []): (r: string[]) => string {
  return (r) =>
    r
      .map((c, i) => padToWidth(c, widths[i] ?? 0, rightAlign[i]))
      .join('  ')
      .trimEnd();
}

/** The dashes under the head. */
export function rule(widths: number[]): string {
  return widths.map((w) => '-'.repeat(w)).join('  ');
}

/** How a column behaves when the table is wider than the console. */
export interface ColumnSpec {
  head: string;
  right?: boolean;
  /** Order in which columns go when even cut columns do not fit: the highest first; never when absent. */
  drop?: number;
  /** Cut (with …) down to this many columns when space is short; never cut when absent. */
  min?: number;
  /** Width a cut column gets before the others get more than their minimum. */
  comfortable?: number;
}

export interface Layout {
  /** Indexes of the columns shown, in table order. */
  shown: number[];
  /** Width of each column (by index; undefined for columns not shown). */
  widths: number[];
}

const GAP = 2;

/**
 * The columns that fit `width` terminal columns, and their widths. Columns are taken most
 * important first (those that are never dropped, then by `drop`; columns with nothing to say,
 * every cell empty or '-', last), each at its comfortable width, or at what is left when that is
 * at least its minimum; a column that does not fit is left out and smaller ones after it may
 * still come in. Space left over widens the cut columns up to their widest cell, most important
 * first. Without a width, every column is shown whole.
 */
export function fitColumns(specs: ColumnSpec[], natural: number[], width: number | undefined, informative?: boolean[]): Layout {
  const all = specs.map((_, i) => i);
  if (width === undefined) return { shown: all, widths: [...natural] };
  const floor = (i: number) => (specs[i]!.min !== undefined ? Math.min(natural[i]!, specs[i]!.min!) : natural[i]!);
  const comfortable = (i: number) => Math.min(natural[i]!, Math.max(floor(i), specs[i]!.comfortable ?? natural[i]!));
  const rank = (i: number) => (specs[i]!.drop === undefined ? -1 : specs[i]!.drop! + (informative && !informative[i] ? 1000 : 0));
  const byImportance = [...all].sort((a, b) => rank(a) - rank(b) || a - b);
  const widths: number[] = [];
  const taken = new Set<number>();
  let used = 0;
  const gap = () => (taken.size > 0 ? GAP : 0);
  // Columns never dropped come in whatever the width; they are cut to their minimum if need be.
  for (const i of byImportance) {
    if (rank(i) >= 0) continue;
    widths[i] = comfortable(i);
    used += gap() + widths[i]!;
    taken.add(i);
  }
  for (const i of [...byImportance].reverse()) {
    if (used <= width) break;
    if (rank(i) >= 0) continue;
    const cut = Math.min(widths[i]! - floor(i), used - width);
    widths[i] = widths[i]! - cut;
    used -= cut;
  }
  for (const i of byImportance) {
    if (rank(i) < 0) continue;
    const left = width - used - gap();
    if (left < floor(i)) continue;
    widths[i] = Math.min(comfortable(i), left);
    used += gap() + widths[i]!;
    taken.add(i);
  }
  let spare = width - used;
  for (const i of byImportance) {
    if (spare <= 0) break;
    if (!taken.has(i)) continue;
    const more = Math.min(spare, natural[i]! - widths[i]!);
    if (more > 0) {
      widths[i] = widths[i]! + more;
      spare -= more;
    }
  }
  return { shown: all.filter((i) => taken.has(i)), widths };
}

/** Formats rows (all columns' cells) for a layout: cells cut to their column, padded. */
export function layoutFormatter(specs: ColumnSpec[], layout: Layout): (cells: string[]) => string {
  return (cells) =>
    layout.shown
      .map((i) => padToWidth(cutToWidth(cells[i] ?? '', layout.widths[i]!), layout.widths[i]!, specs[i]!.right))
      .join(' '.repeat(GAP))
      .trimEnd();
}

export function layoutRule(layout: Layout): string {
  return layout.shown.map((i) => '-'.repeat(layout.widths[i]!)).join(' '.repeat(GAP));
}
