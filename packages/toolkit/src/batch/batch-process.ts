/** Options of {@link batchProcess}. */
export interface BatchOptions {
  /** Records per batch. Default 500. */
  batchSize?: number;
  /** Batches processed at once (with `process`). Default 1. */
  concurrency?: number;
}

/** Options of {@link batchProcess} with a processing function. */
export interface BatchProcessOptions<T, R> extends BatchOptions {
  /** Handles one batch; its results are yielded in source order. */
  process: (batch: T[], index: number) => R | Promise<R>;
}

type Source<T> = Iterable<T> | AsyncIterable<T>;

/**
 * Groups records from any (async) iterable into batches, as an async generator with backpressure:
 * nothing is read from the source until the consumer asks for more, so at most
 * `(concurrency + 1) × batchSize` records are held at once however long the source is.
 *
 * Without `process` it yields the batches; with `process` it runs up to `concurrency` batches at
 * once and yields their results in order.
 *
 * @example
 * ```ts
 * for await (const n of batchProcess(readRows(), { batchSize: 500, concurrency: 4, process: (b) => db.insert(b) })) total += n;
 * ```
 */
// The `process` overload first: TypeScript types an inline `process`'s parameters from the first
// overload it tries, and BatchOptions has no `process` to type them from.
export function batchProcess<T, R>(source: Source<T>, options: BatchProcessOptions<T, R>): AsyncGenerator<Awaited<R>, void, undefined>;
export function batchProcess<T>(source: Source<T>, options?: BatchOptions): AsyncGenerator<T[], void, undefined>;
export async function* batchProcess<T, R>(
  source: Source<T>,
  options: Partial<BatchProcessOptions<T, R>> = {},
): AsyncGenerator<T[] | Awaited<R>, void, undefined> {
  const size = options.batchSize ?? 500;
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(size) || size < 1) throw new TypeError(`autom8: expected batchSize to be a positive integer, got ${String(options.batchSize)}`);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new TypeError(`autom8: expected concurrency to be a positive integer, got ${String(options.concurrency)}`);
  const fn = options.process;
  if (fn !== undefined && typeof fn !== 'function') throw new TypeError('autom8: expected process to be a function');
  if (
    source === null ||
    source === undefined ||
    (typeof (source as AsyncIterable<T>)[Symbol.asyncIterator] !== 'function' && typeof (source as Iterable<T>)[Symbol.iterator] !== 'function')
  ) {
    throw new TypeError('autom8: expected source to be an iterable or async iterable');
  }
  const reader = new BatchReader(source, size);
  const pending: Promise<Awaited<R>>[] = [];
  let index = 0;
  try {
    for (;;) {
      while (!reader.done && pending.length < concurrency) {
        const batch = await reader.next();
        if (batch.length === 0) break;
        if (fn === undefined) {
          yield batch;
          continue;
        }
        const p = Promise.resolve(index++).then((i) => fn(batch, i)) as Promise<Awaited<R>>;
        p.catch(() => {}); // rethrown when its turn comes; avoids an unhandled rejection meanwhile
        pending.push(p);
      }
      if (pending.length === 0) return;
      yield await pending.shift()!;
    }
  } finally {
    await reader.close();
  }
}

/** Reads `size` records at a time from a sync or async iterator (sync ones without an await per record). */
class BatchReader<T> {
  done = false;
  private readonly sync: Iterator<T> | undefined;
  private readonly async: AsyncIterator<T> | undefined;

  constructor(
    source: Source<T>,
    private readonly size: number,
  ) {
    const a = (source as AsyncIterable<T>)[Symbol.asyncIterator];
    if (typeof a === 'function') this.async = a.call(source);
    else this.sync = (source as Iterable<T>)[Symbol.iterator]();
  }

  async next(): Promise<T[]> {
    const batch: T[] = [];
    while (batch.length < this.size) {
      const r = this.sync !== undefined ? this.sync.next() : await this.async!.next();
      if (r.done) {
        this.done = true;
        break;
      }
      batch.push(r.value);
    }
    return batch;
  }

  /** Lets the source clean up when the consumer stopped early. */
  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    if (this.sync !== undefined) this.sync.return?.();
    else await this.async!.return?.();
  }
}
