import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../load/parse.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; strict: true; options: O }>>['values'];

/**
 * The parsing every `autom8 <command> <url> [options]` shares: strict options, `--help` printing
 * `usage`, exactly one URL, and a one-line UsageError pointing at `--help` for anything else.
 * Returns undefined when help was printed.
 */
export function parseCommand<O extends Options>(
  command: string,
  usage: string,
  argv: string[],
  options: O,
  out: NodeJS.WritableStream,
): { values: Values<O>; url: string } | undefined {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { ...options, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split('\n')[0]} (see autom8 ${command} --help)`);
  }
  if ((parsed.values as { help?: boolean }).help) {
    out.write(`${usage}\n`);
    return undefined;
  }
  if (parsed.positionals.length !== 1) throw new UsageError(`give exactly one URL (see autom8 ${command} --help)`);
  return { values: parsed.values, url: parsed.positionals[0]! };
}
