/**
 * A user's app outside the monorepo: the workspaces packed with `npm pack`, installed from their
 * tarballs into a fresh directory under the OS temp dir (so no workspace link can stand in for the
 * registry), next to third-party packages from the npm registry.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

/** The publishable workspaces, dependencies first. */
export const PACKAGES = ['core', 'express', 'koa', 'redis', 'toolkit'] as const;
export type PackageDir = (typeof PACKAGES)[number];

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a command a user would type: without the npm_* variables of the `npm test`
 * around us (npm_config_* would point npm at the monorepo) nor the test runner's own.
 */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || k === 'NODE_TEST_CONTEXT' || k === 'NODE_OPTIONS' || k.startsWith('AUTOM8_')) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** The PATH with this test's node first, so `npx` and bins run on the Node.js under test. */
export function pathWithThisNode(): string {
  return `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;
}

export function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export async function mustRun(cmd: string, args: string[], opts: Parameters<typeof run>[2]): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export interface PackedFile {
  dir: PackageDir;
  name: string;
  tarball: string;
  files: string[];
}

/** `npm pack` of every publishable workspace into a temp dir; what each tarball holds. */
export async function packAll(): Promise<PackedFile[]> {
  const dest = mkdtempSync(join(tmpdir(), 'autom8-tarballs-'));
  const args = ['pack', '--json', '--pack-destination', dest, ...PACKAGES.flatMap((p) => ['-w', `packages/${p}`])];
  const out = await mustRun('npm', args, { cwd: ROOT });
  const entries = JSON.parse(out) as { name: string; filename: string; files: { path: string }[] }[];
  return entries.map((e, i) => ({
    dir: PACKAGES[i]!,
    name: e.name,
    tarball: join(dest, e.filename),
    files: e.files.map((f) => f.path),
  }));
}

/** The version range the monorepo itself develops against, so the npm cache usually has it. */
export function devRange(name: string): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  const range = pkg.devDependencies[name];
  if (!range) throw new Error(`no devDependency ${name} in the root package.json`);
  return `${name}@${range}`;
}

/** A fresh ESM app (`"type": "module"`) in the OS temp dir with the tarballs and `deps` installed. */
export async function freshApp(tarballs: string[], deps: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'autom8-fresh-app-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true, type: 'module' }, null, 2));
  await mustRun('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs, ...deps], {
    cwd: dir,
    timeoutMs: 120_000,
  });
  return dir;
}

/** The fenced code blocks of a markdown file, with their info string. */
export function codeBlocks(markdown: string): { lang: string; code: string }[] {
  const blocks: { lang: string; code: string }[] = [];
  const fence = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (let m = fence.exec(markdown); m; m = fence.exec(markdown)) blocks.push({ lang: m[1]!, code: m[2]! });
  return blocks;
}

/** A loopback port free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
