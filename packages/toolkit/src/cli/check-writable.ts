import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../load/parse.js';

/**
 * Checks, before the run, that `file` can be written: its directory exists and is writable, and it
 * is not a directory itself. Throws a one-line UsageError naming the flag otherwise.
 */
export function checkWritable(file: string, flag: string): void {
  const dir = dirname(resolve(file));
  const bad = (why: string) => new UsageError(`bad ${flag} '${file}': ${why}`);
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw bad(`the directory ${dir} does not exist`);
  }
  if (!isDir) throw bad(`${dir} is not a directory`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw bad(`the directory ${dir} is not writable`);
  }
  try {
    if (statSync(file).isDirectory()) throw bad('it is a directory');
    accessSync(file, constants.W_OK);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw bad('the file is not writable');
  }
}
