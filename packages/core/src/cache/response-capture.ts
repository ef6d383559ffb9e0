import type { ServerResponse } from 'node:http';

/** What the response cache does at the two moments the capture reports. */
export interface CaptureOwner {
  /**
   * The app is about to send its first bytes (headers not sent yet). Return true when the cache
   * answered instead (stale-if-error): the app's output is then dropped.
   */
  beforeFirstWrite(capture: ResponseCapture): boolean;
  /** The app ended the response (before node flushes the last chunk): store it if it may be. */
  complete(capture: ResponseCapture): void;
}

type WriteFn = ServerResponse['write'];
type EndFn = ServerResponse['end'];
type WriteHeadFn = ServerResponse['writeHead'];

/**
 * A tee of one response body: wraps this response's `write`/`end` (Express and Koa both end there)
 * so every chunk goes to the client at once, unchanged, and a copy is kept until `maxBytes` is
 * exceeded (then the copy is dropped and the response is simply not stored). Nothing is buffered
 * before the client sees it.
 */
export class ResponseCapture {
  chunks: Buffer[] = [];
  bytes = 0;
  /** The body outgrew `maxBytes`: not storable. */
  overflow = false;
  /** The app passed headers to `writeHead` directly; they are not all visible to getHeaders(), so not storable. */
  rawHead = false;
  /** The cache replaced the app's response (stale-if-error). */
  replaced = false;
  ended = false;
  private started = false;
  private readonly write: WriteFn;
  private readonly end: EndFn;
  private readonly writeHead: WriteHeadFn;

  constructor(
    readonly res: ServerResponse,
    readonly key: string,
    private readonly maxBytes: number,
    private readonly owner: CaptureOwner,
  ) {
    // The wrappers below need both the response (their `this`) and the capture; the originals are
    // kept unbound and always called with the response as `this`.
    /* eslint-disable @typescript-eslint/no-this-alias, @typescript-eslint/unbound-method */
    const capture = this;
    const write = (this.write = res.write);
    const end = (this.end = res.end);
    const writeHead = (this.writeHead = res.writeHead);
    /* eslint-enable @typescript-eslint/no-this-alias, @typescript-eslint/unbound-method */
    res.write = function captureWrite(this: ServerResponse, chunk: unknown, encoding?: unknown, cb?: unknown) {
      if (capture.replaced) return true;
      if (!capture.started && capture.start()) return true;
      capture.add(chunk, encoding);
      return (write as (...a: unknown[]) => boolean).call(this, chunk, encoding, cb);
    } as WriteFn;
    res.end = function captureEnd(this: ServerResponse, chunk?: unknown, encoding?: unknown, cb?: unknown) {
      if (capture.replaced) return this;
      if (!capture.started && capture.start()) return this;
      if (chunk != null && typeof chunk !== 'function') capture.add(chunk, encoding);
      if (!capture.ended) {
        capture.ended = true;
        capture.owner.complete(capture);
      }
      return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, encoding, cb);
    } as EndFn;
    res.writeHead = function captureWriteHead(this: ServerResponse, ...args: unknown[]) {
      if (capture.replaced) return this;
      if (args.some((a) => typeof a === 'object' && a !== null)) capture.rawHead = true;
      return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
    };
  }

  /** The captured body. */
  body(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bytes);
  }

  /** Sends `status`, `headers` and `body` in place of the app's response, and drops the app's output. */
  replace(status: number, headers: Record<string, string | number | readonly string[]>, body: Buffer): void {
    const res = this.res;
    this.replaced = true;
    this.chunks = [];
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    res.statusCode = status;
    for (const name in headers) res.setHeader(name, headers[name]!);
    this.restore();
    (this.end as (chunk: Buffer) => ServerResponse).call(res, body);
  }

  /** Puts the response's own methods back. */
  restore(): void {
    this.res.write = this.write;
    this.res.end = this.end;
    this.res.writeHead = this.writeHead;
  }

  private start(): boolean {
    this.started = true;
    return !this.res.headersSent && this.owner.beforeFirstWrite(this);
  }

  private add(chunk: unknown, encoding: unknown): void {
    if (this.overflow) return;
    let buf: Buffer;
    if (typeof chunk === 'string') buf = Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    else if (Buffer.isBuffer(chunk)) buf = chunk;
    else if (chunk instanceof Uint8Array) buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    else return;
    if (buf.length === 0) return;
    this.bytes += buf.length;
    if (this.bytes > this.maxBytes) {
      this.overflow = true;
      this.chunks = [];
      return;
    }
    this.chunks.push(buf);
  }
}
