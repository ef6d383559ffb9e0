import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on a free loopback port; resolves to the base URL. */
export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes a server, dropping idle keep-alive connections. */
export async function close(server: Server): Promise<void> {
  server.closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * Serves `handler` on a loopback port while `fn` runs, then closes the server and whatever else the
 * test started (autom8 middleware: its timers and stores), whether `fn` passed or threw.
 */
export async function serve<T>(
  handler: RequestListener,
  fn: (base: string, server: Server) => Promise<T>,
  ...alsoClose: Array<{ close(): Promise<unknown> }>
): Promise<T> {
  const server = createServer(handler);
  const base = await listen(server);
  try {
    return await fn(base, server);
  } finally {
    await close(server);
    for (const c of alsoClose) await c.close();
  }
}
