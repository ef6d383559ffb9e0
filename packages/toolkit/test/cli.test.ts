import assert from 'node:assert/strict';
import { createServer } from 'node:http';
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
  ['unknown flag', ['URL/users/u1', '--rats', '10'], /^autom8: Unknown option '--rats'/],
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
  });
}

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
