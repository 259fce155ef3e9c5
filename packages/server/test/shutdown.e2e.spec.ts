import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { shutDown } from '../src/shutdown.ts';

/** Graceful shutdown over real sockets: a request in flight (an append, say) finishes first. */

const logger = createLogger('silent');

async function slowServer(): Promise<{ server: Server; url: string; release: () => void; started: Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const server = createServer((req, res) => {
    if (req.url === '/slow') {
      markStarted();
      void released.then(() => res.end('done'));
    } else res.end('quick');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, release, started };
}

describe('shutDown', () => {
  it('lets a request in flight finish, refuses new connections, then closes the ledger', async () => {
    const { server, url, release, started } = await slowServer();
    const order: string[] = [];
    const inFlight = fetch(`${url}/slow`).then(async (r) => {
      order.push('request finished');
      return r.text();
    });
    await started;
    const stopping = shutDown({ server, logger, close: async () => void order.push('ledger closed') });
    await expect(fetch(`${url}/quick`)).rejects.toThrow();
    release();
    expect(await inFlight).toBe('done');
    await stopping;
    expect(order).toEqual(['request finished', 'ledger closed']);
  });

  it('cuts requests still running at the drain deadline, then closes the ledger', async () => {
    const { server, url, release, started } = await slowServer();
    const inFlight = fetch(`${url}/slow`).then(
      () => 'answered',
      () => 'cut',
    );
    await started;
    let closed = false;
    const began = Date.now();
    await shutDown({ server, logger, drainTimeoutMs: 200, close: async () => void (closed = true) });
    expect(Date.now() - began).toBeGreaterThanOrEqual(190);
    expect(closed).toBe(true);
    expect(await inFlight).toBe('cut');
    release();
  });
});
