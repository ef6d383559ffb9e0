import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { LoadReport } from '@autom8/toolkit';
import { close, listen } from '../../../test/support/http.js';
import { runCli } from './fixtures/cli.js';
import { startQueueServer, type QueueServer } from './fixtures/queue-server.js';

let server: QueueServer;
let deadUrl: string;
before(async () => {
  server = await startQueueServer(5, 20);
  // A port that was just free: nothing listens there any more.
  const s = createServer();
  deadUrl = await listen(s);
  await close(s);
});
after(async () => {
  await server.stop();
});

const BAD_INPUT: [string, string[], RegExp][] = [
  ['unreachable URL', [`${'DEAD'}/users`, '--rate', '10'], /^autom8: cannot reach http:\/\/127\.0\.0\.1:\d+: connection refused$/],
  ['backwards rate range', ['URL/users/u1', '--rate', '2000..100'], /^autom8: bad --rate '2000\.\.100': the range must go up/],
  ['non-numeric rate', ['URL/users/u1', '--rate', 'fast'], /^autom8: bad --rate 'fast'/],
  ['malformed SLO', ['URL/users/u1', '--slo', 'p99 under 150'], /^autom8: malformed SLO 'p99 under 150'/],
  ['SLO without percentile', ['URL/users/u1', '--slo', '<150ms'], /^autom8: malformed SLO/],
  ['bad duration', ['URL/users/u1', '--duration', '0s'], /^autom8: bad --duration '0s'/],
  ['bad URL', ['not a url', '--rate', '10'], /^autom8: bad URL 'not a url'/],
  ['placeholder without IDs', ['URL/users/:id', '--rate', '10'], /^autom8: the URL has :id but no IDs/],
  ['ID list that 404s', ['URL/users/:id', '--ids-from', '/missing'], /^autom8: cannot fetch IDs from .*\/missing: HTTP 404$/],
  ['unknown flag', ['URL/users/u1', '--rats', '10'], /^autom8: unknown option '--rats' \(see autom8 load --help\)$/],
  // Issue #21: errors say what is wrong and quote what was typed.
  ['mistyped scheme', ['htp://127.0.0.1:3000/users'], /^autom8: bad URL 'htp:\/\/127\.0\.0\.1:3000\/users': the scheme must be http:\/\/ or https:\/\//],
  ['negative rate', ['URL/users/u1', '--rate', '-5'], /^autom8: bad --rate '-5': a rate cannot be negative$/],
  ['negative rate, inline', ['URL/users/u1', '--rate=-5..10'], /^autom8: bad --rate '-5\.\.10': a rate cannot be negative$/],
  ['zero rate', ['URL/users/u1', '--rate', '0'], /^autom8: bad --rate '0': a rate must be above 0$/],
  ['option without its value', ['URL/users/u1', '--rate', '--json'], /^autom8: option '--rate' needs a value \(the next argument, '--json', is an option\)/],
  ['value for a flag', ['URL/users/u1', '--json=yes'], /^autom8: option '--json' takes no value/],
  [
    'HTML report in a missing directory',
    ['URL/users/u1', '--html', '/nonexistent-dir/x.html'],
    /^autom8: bad --html '\/nonexistent-dir\/x\.html': the directory \/nonexistent-dir does not exist$/,
  ],
  ['HTML report onto a directory', ['URL/users/u1', '--html', '/tmp'], /^autom8: bad --html '\/tmp': it is a directory$/],
  ['two URLs', ['URL/a', 'URL/b'], /^autom8: give exactly one URL, got '.*\/a', '.*\/b'/],
  ['both models', ['URL/users/u1', '--rate', '10', '--concurrency', '2'], /^autom8: give --rate or --concurrency, not both$/],
  ['no URL', [], /^autom8: give exactly one URL/],
];

for (const [name, args, expected] of BAD_INPUT) {
  test(`bad input (${name}): one line on stderr, exit status 2, no stack trace`, async () => {
    const r = await runCli(['load', ...args.map((a) => a.replace(/^URL/, server.url).replace(/^DEAD/, deadUrl))]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, expected);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal((lines[0]!.match(/'/g) ?? []).length % 2, 0, `unbalanced quotes: ${lines[0]}`);
  });
}

test('a bad --html path is refused before the run: the server sees no request (issue #21)', async () => {
  const before = (await server.stats()).requests;
  const r = await runCli(['load', `${server.url}/users/u1`, '--rate', '20', '--duration', '500ms', '--html', '/nonexistent-dir/x.html']);
  assert.equal(r.code, 2);
  // The /stats request itself counts one.
  assert.equal((await server.stats()).requests, before + 1, 'no probe and no load before the check');
});

test('when most failures are 429s, the CLI says the knee is the rate limit, not capacity (issue #21)', async () => {
  // Allows 20 requests, then answers 429 like a rate limiter.
  let served = 0;
  const limited = createServer((_req, res) => {
    res.writeHead(++served <= 20 ? 200 : 429).end();
  });
  const base = await listen(limited);
  const dir = mkdtempSync(join(tmpdir(), 'autom8-cli-'));
  try {
    const file = join(dir, 'r.html');
    const r = await runCli(['load', `${base}/x`, '--rate', '50..100', '--steps', '2', '--duration', '1s', '--slo', 'p99<2s', '--html', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^warning: \d+ of \d+ failures were HTTP 429: the server is rate limiting this client, so the knee below is that limit, not capacity/,
    );
    assert.match(readFileSync(file, 'utf8'), /class="warning"[^>]*>\d+ of \d+ failures were HTTP 429: the server is rate limiting this client/);
  } finally {
    await close(limited);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unknown command is bad input too', async () => {
  const r = await runCli(['lode']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, "autom8: unknown command 'lode' (try: autom8 help)\n");
});

test('help and --help print usage and exit 0', async () => {
  const r = await runCli(['load', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /--ids-from/);
  assert.match((await runCli(['help'])).stdout, /Commands:/);
});

test('a run prints the table, or the report as JSON with --json', async () => {
  const table = await runCli([
    'load',
    `${server.url}/users/:id`,
    '--ids-from',
    '/users',
    '--rate',
    '20..40',
    '--steps',
    '2',
    '--duration',
    '500ms',
    '--slo',
    'p99<2s',
  ]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /offered\/s\s+achieved\/s/);
  assert.match(table.stdout, /knee: 40 req\/s offered/);
  assert.equal(table.stderr, '', 'no progress output when stderr is not a terminal');

  const json = await runCli([
    'load',
    `${server.url}/users/:id`,
    '--ids-from',
    '/users',
    '--ids-path',
    'items.*.id',
    '--rate',
    '30',
    '--duration',
    '500ms',
    '--json',
  ]);
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as LoadReport;
  assert.equal(report.mode, 'open');
  assert.equal(report.ids, 50);
  assert.equal(report.steps.length, 1);
  assert.equal(report.steps[0]!.sent, 15);
  assert.equal(report.steps[0]!.ok, 15);
  assert.equal(report.knee, null, 'no SLO, no knee');
});
