import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { CLI } from './fixtures/cli.js';
import { startQueueServer, type QueueServer } from './fixtures/queue-server.js';

let server: QueueServer;
before(async () => {
  server = await startQueueServer(5, 20);
});
after(async () => {
  await server.stop();
});

// Missing `script` fails (it never skips): `npm test` installs it when it can (scripts/ensure-system-deps.sh).
test('on a terminal, progress is redrawn in place on stderr, then cleared before the table', async () => {
  const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
  assert.ok(hasScript, 'util-linux `script` (a pseudo-terminal) is not installed (apt-get install -y bsdutils)');
  // `script` runs the CLI on a real pseudo-terminal, so stderr.isTTY is true as in a shell.
  const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} load ${server.url}/users/u1 --rate 20..40 --steps 2 --duration 800ms`;
  const r = spawnSync('script', ['-qfec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const out = r.stdout;
  // eslint-disable-next-line no-control-regex -- the terminal's escape sequence is what is matched
  const redraws = out.match(/\r\x1b\[K[^\r\n]*step \d\/2 · \d+ req\/s/g) ?? [];
  assert.ok(redraws.length >= 3, `progress lines: ${JSON.stringify(out.slice(0, 400))}`);
  assert.ok(redraws.some((l) => l.includes('step 2/2 · 40 req/s')));
  // The table comes after a final clear of the progress line.
  const table = out.indexOf('offered/s');
  assert.ok(table > out.lastIndexOf('step 2/2'), 'table after the last progress line');
  assert.ok(out.lastIndexOf('\r\x1b[K', table) > out.lastIndexOf('step 2/2'), 'progress line cleared');
});

test('Ctrl-C stops the run and still prints the steps done, the last marked partial', async () => {
  const before = await server.stats();
  const child = spawn(process.execPath, [CLI, 'load', `${server.url}/users/u1`, '--rate', '20..40', '--steps', '2', '--duration', '1s', '--slo', 'p99<1s'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  // Interrupt during the second step: once the probe (1), step 1 (20) and a few of step 2 arrived.
  // Each stats call counts itself too.
  for (let polls = 2; ; polls++) {
    const s = await server.stats();
    if (s.requests - before.requests - polls >= 24) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGINT');
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stdout);
  assert.match(stdout, /\n\s+20 .*pass/);
  assert.match(stdout, /\n\s+40 .*partial/);
  assert.match(stdout, /interrupted: the last step is partial/);
  assert.match(stdout, /knee: 20 req\/s offered/);
});
