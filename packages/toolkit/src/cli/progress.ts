import type { LoadProgress } from '../load/load-test.js';

/** A one-line live progress display, redrawn in place on a terminal (nothing when not a TTY). */
export function progressPrinter(stream: NodeJS.WriteStream): { update: (p: LoadProgress) => void; clear: () => void } | undefined {
  if (!stream.isTTY) return undefined;
  const spin = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let tick = 0;
  return {
    update(p) {
      const pct = Math.min(100, Math.round((p.elapsedMs / p.stepDurationMs) * 100));
      const what = p.mode === 'open' ? `${p.level} req/s` : `${p.level} clients`;
      const line = `${spin[tick++ % spin.length]} step ${p.step}/${p.steps} · ${what} · ${pct}% · sent ${p.sent} · ok ${p.ok} · failed ${p.failed} · in flight ${p.inFlight}`;
      const columns = stream.columns > 0 ? stream.columns : 100; // 0 on a pty without a window size
      stream.write(`\r\x1b[K${line.slice(0, Math.max(20, columns - 1))}`);
    },
    clear() {
      stream.write('\r\x1b[K');
    },
  };
}
