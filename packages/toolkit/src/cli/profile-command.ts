import { writeFileSync } from 'node:fs';
import { summarizeCpuProfile, type CpuProfile } from '@autom8/core';
import { describeNetworkError } from '../load/ids.js';
import { parseTargetUrl, UsageError } from '../load/parse.js';
import { checkWritable } from './check-writable.js';
import { parseCommand } from './parse-command.js';
import { formatCpuSummary } from '../profiler/profile.js';

/** Usage text of `autom8 profile`. */
export const PROFILE_USAGE = `Usage: autom8 profile <base-url> [options]

Records a CPU profile of a running service through its autom8 endpoint (GET {prefix}/profile,
enabled with the middleware's 'profiler' option) and prints the top self-time functions.

  <base-url>             the service, e.g. http://127.0.0.1:3000 (or the full /api/v1/profile URL)
  --seconds <n>          how long to record (default 5)
  --token <t>            the profiler token (default: $AUTOM8_PROFILER_TOKEN; prefer the variable,
                         command lines are visible to other users of the machine)
  --out <file>           also write the .cpuprofile (open it in Chrome DevTools or VS Code)
  --top <n>              functions listed (default 15)
  --prefix <path>        the monitoring prefix (default /api/v1)`;

/** Runs `autom8 profile …`; returns the exit status. */
export async function profileCommand(argv: string[], out: NodeJS.WriteStream): Promise<number> {
  const parsed = parseCommand(
    'profile',
    PROFILE_USAGE,
    argv,
    {
      seconds: { type: 'string' },
      token: { type: 'string' },
      out: { type: 'string' },
      top: { type: 'string' },
      prefix: { type: 'string' },
    },
    out,
  );
  if (parsed === undefined) return 0;
  const v = parsed.values;
  const seconds = v.seconds === undefined ? 5 : Number(v.seconds);
  if (!(seconds > 0 && seconds <= 600)) throw new UsageError(`bad --seconds '${v.seconds}': expected a number of seconds in (0, 600]`);
  const top = v.top === undefined ? 15 : Number(v.top);
  if (!(Number.isInteger(top) && top > 0)) throw new UsageError(`bad --top '${v.top}': expected a positive whole number`);
  const token = v.token ?? process.env.AUTOM8_PROFILER_TOKEN;
  if (token === undefined || token === '') throw new UsageError('no token: set AUTOM8_PROFILER_TOKEN (or give --token)');
  let url = parseTargetUrl(parsed.url);
  if (v.out !== undefined) checkWritable(v.out, '--out');
  if (!url.pathname.endsWith('/profile')) url = new URL(`${(v.prefix ?? '/api/v1').replace(/\/$/, '')}/profile`, url.origin);
  url.searchParams.set('seconds', String(seconds));

  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(seconds * 1000 + 30_000) });
  } catch (err) {
    throw new UsageError(`cannot reach ${url.origin}: ${describeNetworkError(err)}`);
  }
  if (res.status === 401) throw new UsageError(`${url.origin} refused the profiler token (401)`);
  if (res.status === 404) throw new UsageError(`no profiler endpoint at ${url.pathname} (is the middleware's 'profiler' option set?)`);
  if (!res.ok) throw new UsageError(`${url.href}: HTTP ${res.status} ${(await res.text()).slice(0, 200).replace(/\s+/g, ' ')}`);
  const profile = (await res.json()) as CpuProfile;
  // The summary goes out first: a file that cannot be written must not cost the recorded profile's summary.
  out.write(`${formatCpuSummary(summarizeCpuProfile(profile, top))}\n`);
  if (v.out !== undefined) {
    try {
      writeFileSync(v.out, JSON.stringify(profile));
    } catch (e) {
      throw new Error(`cannot write ${v.out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    out.write(`profile written to ${v.out}\n`);
  }
  return 0;
}
