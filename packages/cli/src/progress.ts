import { SingleBar } from 'cli-progress';

/*
 * A progress bar with rate and ETA on stderr, for long operator commands (backup, restore). When stderr
 * is not a terminal (a log file, CI), a plain line every 10% instead of redraw codes.
 */
export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

export function progressBar(what: string, unit = 'rows'): Progress {
  if (process.stderr.isTTY) {
    const bar = new SingleBar({
      stream: process.stderr,
      format: `${what} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 50,
    });
    let started = false;
    const t0 = Date.now();
    return {
      update(done, total) {
        if (!started) {
          bar.start(total, 0, { rate: 0 });
          started = true;
        }
        bar.setTotal(total);
        bar.update(done, { rate: Math.round(done / Math.max(0.001, (Date.now() - t0) / 1000)) });
      },
      stop: () => bar.stop(),
    };
  }
  let shown = -1;
  return {
    update(done, total) {
      const tenth = total === 0 ? 10 : Math.floor((done / total) * 10);
      if (tenth === shown) return;
      shown = tenth;
      process.stderr.write(`${what}: ${done}/${total} ${unit} (${tenth * 10}%)\n`);
    },
    stop: () => {},
  };
}
