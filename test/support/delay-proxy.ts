import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback in front of a real server (a redis-server in the store-fault tests), to
 * make it slow or unreachable without touching it.
 */
export interface DelayProxy {
  /** The port clients connect to. */
  port: number;
  /** Holds every reply (upstream → client) this long before passing it on, in order. 0 = none. */
  setDelay(ms: number): void;
  /**
   * Blackhole: holds all bytes, both ways, until {@link resume} (a partition, not a refusal: the
   * client's connection stays up and its commands go unanswered). Nothing is dropped, so the
   * byte stream stays intact for the protocol.
   */
  pause(): void;
  /** Delivers what {@link pause} held and passes bytes again. */
  resume(): void;
  /** Destroys every open connection (both sides); new ones are still accepted. */
  closeConnections(): void;
  /** Open client connections. */
  readonly connections: number;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

/** One direction of a connection: chunks released in arrival order, each at its due time. */
class Pipe {
  private readonly queue: { at: number; data: Buffer }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly to: Socket,
    private readonly state: { delayMs: number; paused: boolean },
    private readonly delayed: boolean,
  ) {}

  push(data: Buffer): void {
    this.queue.push({ at: Date.now() + (this.delayed ? this.state.delayMs : 0), data });
    this.pump();
  }

  pump(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.state.paused || this.to.destroyed) return;
    const now = Date.now();
    while (this.queue.length > 0 && this.queue[0]!.at <= now) this.to.write(this.queue.shift()!.data);
    // Later chunks wait for earlier ones: a lowered delay never reorders the stream.
    if (this.queue.length > 0) this.timer = setTimeout(() => this.pump(), this.queue[0]!.at - now);
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.queue.length = 0;
  }
}

/** Starts a proxy on a free 127.0.0.1 port forwarding to `targetPort` on 127.0.0.1. */
export async function startDelayProxy(targetPort: number): Promise<DelayProxy> {
  const state = { delayMs: 0, paused: false };
  const open = new Set<{ client: Socket; upstream: Socket; pipes: Pipe[] }>();

  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const toClient = new Pipe(client, state, true);
    const toUpstream = new Pipe(upstream, state, false);
    const conn = { client, upstream, pipes: [toClient, toUpstream] };
    open.add(conn);
    // Either side closing or failing (the server was killed) closes the other, as a real hop would.
    const end = () => {
      if (!open.delete(conn)) return;
      toClient.stop();
      toUpstream.stop();
      client.destroy();
      upstream.destroy();
    };
    upstream.on('data', (d: Buffer) => toClient.push(d));
    client.on('data', (d: Buffer) => toUpstream.push(d));
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      s.on('error', end);
      s.on('close', end);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as { port: number }).port;

  const closeConnections = () => {
    for (const c of [...open]) {
      c.client.destroy();
      c.upstream.destroy();
    }
  };
  return {
    port,
    setDelay(ms: number) {
      if (!(ms >= 0)) throw new RangeError(`delay must be ≥ 0 ms, got ${ms}`);
      state.delayMs = ms;
    },
    pause() {
      state.paused = true;
    },
    resume() {
      state.paused = false;
      for (const c of open) for (const p of c.pipes) p.pump();
    },
    closeConnections,
    get connections() {
      return open.size;
    },
    close: async () => {
      closeConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
