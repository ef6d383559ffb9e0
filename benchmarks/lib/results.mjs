// Machine-readable results: every bench writes benchmarks/results/<name>.json, which report.mjs
// turns into BENCHMARKS.md. The files are checked in: they are the run the document quotes.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

/**
 * The machine a figure came from: CPU model and count, memory, OS and kernel, and the load average
 * when the results were written (over a run of minutes, the 5-minute figure says whether the
 * machine was shared with other work while it ran).
 */
export function machineInfo() {
  const list = cpus();
  let os = `${process.platform} ${release()}`;
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (pretty) os = `${pretty[1]} (kernel ${release()})`;
  } catch {
    // not Linux, or no os-release: the platform and kernel are enough
  }
  const load = loadavg().map((x) => Number(x.toFixed(2)));
  return {
    cpus: { model: list[0]?.model.trim() ?? 'unknown', count: list.length },
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os,
    loadAvg: { '1m': load[0], '5m': load[1], '15m': load[2] },
  };
}

/**
 * Writes results/<name>.json: `{ bench, when, node, machine, rows, ...extra }`. Rows hold numbers
 * (not the formatted strings of the printed tables) and a `section` naming the table they belong to.
 */
export function writeResults(name, rows, extra = {}) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const doc = { bench: name, when: new Date().toISOString(), node: process.version, machine: machineInfo(), ...extra, rows };
  const file = `${RESULTS_DIR}${name}.json`;
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  console.log(`\nresults: ${file}`);
  return file;
}

/** Rounds for JSON: enough digits to be useful, none of the float noise. */
export const round = (n, digits = 2) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);
