// Progress on stderr: a bar when stderr is a terminal (never in pipes or CI logs), or, when
// ETL_IMDS_PROGRESS=lines, one plain line per update (`etl-imds: progress <done> <total>`, bytes)
// for scripts and tests that must know the work is under way (and its SIGINT handler installed)
// before they interrupt it.
export class Progress {
  private last = 0;
  private shown = false;
  readonly enabled: boolean;
  private readonly lines: boolean;

  constructor(
    private readonly label: string,
    totalBytes: number,
    quiet = false,
  ) {
    this.lines = !quiet && process.env.ETL_IMDS_PROGRESS === 'lines';
    this.enabled = this.lines || (!quiet && process.stderr.isTTY === true && !process.env.CI && totalBytes >= 16 * 1024 * 1024);
  }

  update(done: number, total: number, extra = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100 && done < total) return;
    this.last = now;
    if (this.lines) {
      process.stderr.write(`etl-imds: progress ${done} ${total}\n`);
      return;
    }
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
