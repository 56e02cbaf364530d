// Progress lines for long steps (model generation, download, load): redrawn in place on a
// terminal, one line per 10% otherwise (logs, CI).
export function progressReporter(stream: NodeJS.WriteStream = process.stderr): (label: string, fraction: number) => void {
  let lastLabel = "";
  let lastDecile = -1;
  return (label, fraction) => {
    const percent = Math.max(0, Math.min(100, Math.floor(fraction * 100)));
    if (stream.isTTY) {
      stream.write(`\r${label} ${String(percent).padStart(3)}%${percent === 100 ? "\n" : ""}`);
      return;
    }
    const decile = Math.floor(percent / 10);
    if (label === lastLabel && decile === lastDecile) return;
    lastLabel = label;
    lastDecile = decile;
    stream.write(`${label} ${percent}%\n`);
  };
}
