#!/usr/bin/env node
/**
 * The `autom8` command. Every failure ends in one line on stderr (`autom8: …`) and a non-zero exit:
 * 2 for bad input, 1 for anything else. Set AUTOM8_DEBUG=1 to see stack traces.
 */
import { UsageError } from '../load/parse.js';
import { VERSION } from '../version.js';
import { LOAD_USAGE, loadCommand } from './load-command.js';
import { PROFILE_USAGE, profileCommand } from './profile-command.js';

const USAGE = `autom8 ${VERSION}: performance toolkit

Usage: autom8 <command> [options]

Commands:
  load <url>     open-model load test with ramp, knee finding, --json and --html reports
  profile <url>  CPU profile of a running service through its /api/v1/profile endpoint
  help           this text

Run 'autom8 load --help' or 'autom8 profile --help' for their options.`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'load':
      return loadCommand(rest, process.stdout, process.stderr);
    case 'profile':
      return profileCommand(rest, process.stdout);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(
        `${USAGE}\n${cmd === 'help' && rest[0] === 'load' ? `\n${LOAD_USAGE}\n` : cmd === 'help' && rest[0] === 'profile' ? `\n${PROFILE_USAGE}\n` : ''}`,
      );
      return 0;
    case '--version':
    case '-v':
      process.stdout.write(`${VERSION}\n`);
      return 0;
    default:
      throw new UsageError(`unknown command '${cmd}' (try: autom8 help)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const usage = err instanceof UsageError;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`autom8: ${message.split('\n')[0]}\n`);
    if (process.env.AUTOM8_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = usage ? 2 : 1;
  },
);
