// A progress line on stderr, only when stderr is a terminal (never in pipes or CI logs).
export class Progress {
  private last = 0;
  private shown = false;
  readonly enabled: boolean;

  constructor(
    private readonly label: string,
    totalBytes: number,
    quiet = false,
  ) {
    this.enabled = !quiet && process.stderr.isTTY === true && !process.env.CI && totalBytes >= 16 * 1024 * 1024;
  }

  update(done: number, total: number, extra = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100 && done < total) return;
    this.last = now;
    const pct = total > 0 ? Math.min(100, (done / total) * 100) : 0;
    const width = 30;
    const fill = Math.round((pct / 100) * width);
    const bar = '#'.repeat(fill) + '-'.repeat(width - fill);
    process.stderr.write(`\r${this.label} [${bar}] ${pct.toFixed(0).padStart(3)}% ${extra}\x1b[K`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}
