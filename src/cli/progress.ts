// Progress lines for long steps (model generation, download, load): redrawn in place on a
// terminal, one line per 10% otherwise (logs, CI). On a terminal the progress line stays the
// last line: log lines are written above it (TerminalLine.writeAbove), never into it.

/** The bottom line of a terminal, which progress redraws in place. */
export class TerminalLine {
  private shown: string | null = null;

  constructor(readonly stream: NodeJS.WriteStream = process.stderr) {}

  /** Whether the line is redrawn in place (a terminal), rather than written line by line. */
  get live(): boolean {
    return this.stream.isTTY === true;
  }

  /** Replaces the line's text; `final` ends the line, so later output goes below it. */
  draw(text: string, final = false): void {
    this.stream.write(`\r${text}\x1b[K${final ? "\n" : ""}`);
    this.shown = final ? null : text;
  }

  /**
   * Writes whole lines to `out` (the same terminal) above the progress line: the line is cleared
   * first and drawn again below them. Terminal writes are synchronous, so the order holds.
   */
  writeAbove(out: NodeJS.WritableStream, lines: string): void {
    if (this.shown === null) {
      out.write(lines);
      return;
    }
    this.stream.write("\r\x1b[K");
    out.write(lines);
    this.stream.write(this.shown);
  }
}

/** This process's terminal (stderr): progress and the serve logs share it. */
export const terminalLine = new TerminalLine();

export function progressReporter(line: TerminalLine = terminalLine): (label: string, fraction: number) => void {
  let lastLabel = "";
  let lastPercent = -1;
  return (label, fraction) => {
    const percent = Math.max(0, Math.min(100, Math.floor(fraction * 100)));
    const step = line.live ? percent : Math.floor(percent / 10);
    if (label === lastLabel && step === lastPercent) return;
    lastLabel = label;
    lastPercent = step;
    if (line.live) line.draw(`${label} ${String(percent).padStart(3)}%`, percent === 100);
    else line.stream.write(`${label} ${percent}%\n`);
  };
}
