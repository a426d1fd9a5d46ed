import { connect, createServer, type Socket } from 'node:net';

/** A loopback TCP proxy in front of Redis that can make its connections go silent without closing them. */
export interface SilentProxy {
  readonly url: string;
  /** Every connection open now stops carrying bytes either way, and stays open (a half-open network). */
  stall(): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<SilentProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket; stalled: boolean }>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const pair = { client, upstream, stalled: false };
    pairs.add(pair);
    client.on('data', (chunk) => {
      if (!pair.stalled) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!pair.stalled) client.write(chunk);
    });
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('close', end);
      socket.on('error', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    stall() {
      for (const pair of pairs) pair.stalled = true;
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
