import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { profile, profiled, profileEventLoop, profileMemory, withProfile, type CpuProfile } from '@autom8/toolkit';

const dir = mkdtempSync(join(tmpdir(), 'autom8-profile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// The known hot function: burns CPU for `ms`, in its own frame.
function hotSpinForProfileTest(ms: number): number {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) for (let i = 0; i < 1000; i++) x = (x + Math.sqrt(i + x)) % 1e6;
  return x;
}

function assertValidCpuProfile(p: CpuProfile): void {
  assert.ok(Array.isArray(p.nodes) && p.nodes.length > 0);
  assert.ok(p.endTime > p.startTime);
  assert.equal(p.samples!.length, p.timeDeltas!.length);
  const ids = new Set(p.nodes.map((n) => n.id));
  for (const s of p.samples!) assert.ok(ids.has(s), `sample of unknown node ${s}`);
  for (const n of p.nodes) {
    assert.equal(typeof n.callFrame.functionName, 'string');
    for (const c of n.children ?? []) assert.ok(ids.has(c));
  }
}

test('profile writes a valid .cpuprofile naming the hot function, and a top self-time summary', async () => {
  const file = join(dir, 'hot.cpuprofile');
  const r = await profile(() => hotSpinForProfileTest(300), { outputFile: file, samplingIntervalUs: 500 });
  assert.equal(typeof r.result, 'number');
  assert.equal(r.file, file);
  const onDisk = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  assertValidCpuProfile(onDisk);
  assert.ok(onDisk.nodes.some((n) => n.callFrame.functionName === 'hotSpinForProfileTest'));
  const real = r.summary.top.filter((e) => !e.functionName.startsWith('('));
  assert.equal(real[0]?.functionName, 'hotSpinForProfileTest', r.text);
  // Most of the profile, but not a fixed share of it: on a host whose neighbours take the CPU the
  // sampler also catches this process descheduled (seen: 39.5 % where 60-90 % is usual).
  assert.ok(real[0].selfPercent > 25 && real[0].selfPercent > 2 * (real[1]?.selfPercent ?? 0), r.text);
  assert.ok(real[0].url.endsWith('profiler.test.ts') && real[0].line > 0, r.text);
  assert.match(r.text, /hotSpinForProfileTest/);
});

test('the decorator and withProfile profile each call of a method or function', async () => {
  const seen: string[] = [];
  class Job {
    constructor(readonly ms: number) {}
    @profiled({ outputFile: join(dir, 'job.cpuprofile'), onProfile: (r) => seen.push(r.summary.top.map((e) => e.functionName).join(',')) })
    async run(): Promise<number> {
      return hotSpinForProfileTest(this.ms);
    }
  }
  const n = await new Job(150).run();
  assert.equal(typeof n, 'number');
  assert.equal(seen.length, 1);
  // V8 may inline the spin into the method, so the time lands on one or the other.
  assert.match(seen[0]!, /\brun\b|hotSpinForProfileTest/);
  assertValidCpuProfile(JSON.parse(readFileSync(join(dir, 'job.cpuprofile'), 'utf8')) as CpuProfile);

  // A call made while a profile is running runs unprofiled instead of failing.
  const wrapped = withProfile((ms: number) => hotSpinForProfileTest(ms), { outputFile: join(dir, 'inner.cpuprofile') });
  const outer = await profile(async () => wrapped(20));
  assert.equal(typeof outer.result, 'number');
  await assert.rejects(
    profile(() => profile(() => 1)),
    /AUTOM8_ERR_PROFILER_BUSY|already being recorded/,
  );
});

test('profileMemory reports heap spaces and names the top allocation site', async () => {
  const keep: unknown[] = [];
  function allocateManyArraysForTest(): void {
    for (let i = 0; i < 2000; i++) keep.push(new Array(1000).fill(i));
  }
  const m = await profileMemory({ run: allocateManyArraysForTest, topN: 5 });
  assert.ok(m.spaces.some((s) => s.name === 'old_space') && m.spaces.every((s) => s.size >= s.used));
  assert.ok(m.heap.used_heap_size > 0);
  assert.ok(m.top.length > 0 && m.top.length <= 5);
  assert.equal(m.top[0]!.functionName, 'allocateManyArraysForTest', m.text);
  assert.ok(m.top[0]!.bytes > 1_000_000, m.text);
  assert.match(m.text, /Heap spaces/);
  keep.length = 0;
});

test('profileEventLoop sees a blocked loop in its delay histogram and utilisation', async () => {
  setTimeout(() => hotSpinForProfileTest(120), 50);
  const e = await profileEventLoop(400);
  assert.ok(e.delay.max >= 100, `max delay ${e.delay.max} ms`);
  assert.ok(e.delay.min <= e.delay.p50 && e.delay.p50 <= e.delay.p99 && e.delay.p99 <= e.delay.max);
  assert.ok(e.utilization >= 0.2 && e.utilization <= 1, `utilisation ${e.utilization}`);
  assert.ok(e.durationMs >= 400);
  assert.equal(typeof e.activeResources, 'object');
  assert.ok(e.memory.heapUsed > 0);
  await assert.rejects(profileEventLoop(0), /positive/);
});
