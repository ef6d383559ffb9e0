import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../load/parse.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; strict: true; options: O }>>['values'];
type Token = NonNullable<ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; strict: false; tokens: true }>>['tokens']>[number];

/** A negative number or range (`-5`, `-0.5..10`): a value to check, not an option. */
const NEGATIVE_NUMBER = /^-\.?\d/;

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
  const all = { ...options, help: { type: 'boolean', short: 'h' } } as Options;
  // parseArgs reads the tokens once leniently, so that errors can name what was typed and a
  // negative number after a value option (`--rate -5`) reaches that option's own check, as
  // `--rate=-5` (parseArgs' documented form for a value that starts with a dash) would.
  const { tokens } = parseArgs({ args: argv, allowPositionals: true, strict: false, tokens: true, options: all });
  const args = [...argv];
  const consumed = new Set<number>();
  for (const t of tokens) {
    if (t.kind === 'option' && all[t.name]?.type === 'string' && t.inlineValue === false && t.rawName.startsWith('--') && NEGATIVE_NUMBER.test(t.value ?? '')) {
      args[t.index] = `${t.rawName}=${t.value}`;
      consumed.add(t.index + 1);
    }
  }
  let parsed;
  try {
    parsed = parseArgs({ args: args.filter((_, i) => !consumed.has(i)), allowPositionals: true, strict: true, options: all });
  } catch (e) {
    throw new UsageError(`${describeParseError(tokens, all) ?? (e as Error).message.split('\n')[0]} (see autom8 ${command} --help)`);
  }
  if ((parsed.values as { help?: boolean }).help) {
    out.write(`${usage}\n`);
    return undefined;
  }
  if (parsed.positionals.length !== 1)
    throw new UsageError(
      parsed.positionals.length === 0
        ? `give exactly one URL (see autom8 ${command} --help)`
        : `give exactly one URL, got ${parsed.positionals.map((p) => `'${p}'`).join(', ')} (see autom8 ${command} --help)`,
    );
  return { values: parsed.values as Values<O>, url: parsed.positionals[0]! };
}

/** What is wrong with the first bad option, in words that quote what was typed. */
function describeParseError(tokens: Token[], options: Options): string | undefined {
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const spec = options[t.name];
    if (spec === undefined) return `unknown option '${t.rawName}'`;
    if (spec.type === 'boolean' && t.value !== undefined) return `option '${t.rawName}' takes no value (got '${t.rawName}=${t.value}')`;
    if (spec.type === 'string' && t.value === undefined) return `option '${t.rawName}' needs a value`;
    if (spec.type === 'string' && !t.inlineValue && t.value!.startsWith('-'))
      return `option '${t.rawName}' needs a value (the next argument, '${t.value}', is an option)`;
  }
  return undefined;
}
