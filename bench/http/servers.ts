/** The HTTP servers of a run: child processes on 127.0.0.1, spoken to over IPC. */
import { stopAll, Worker } from '../lib/workers.js';
import type { FromHttpServer, ServerVariant, ToHttpServer } from '../workers/http-protocol.js';

const SERVER = new URL('../workers/http-server.ts', import.meta.url);

export type Server = Worker<ToHttpServer, FromHttpServer>;

export interface Fleet {
  readonly servers: Server[];
  readonly urls: string[];
}

export interface ServerConfig {
  readonly redisUrl: string;
  readonly namespace: string;
  readonly ttl: number;
  readonly handlerMs: number;
}

/** Starts `count` servers of one variant; rejects with the server's reason if one cannot start. */
export async function startFleet(
  variant: ServerVariant,
  count: number,
  config: ServerConfig,
): Promise<Fleet> {
  const servers = Array.from(
    { length: count },
    (_, i) => new Worker<ToHttpServer, FromHttpServer>(SERVER, `${variant} server #${i}`),
  );
  try {
    for (const server of servers) {
      server.send({
        type: 'init',
        variant,
        ...config,
        counterKey: `${config.namespace}:handler-calls`,
        windowsKey: `${config.namespace}:handler-calls-by-window`,
      });
    }
    const replies = await Promise.all(servers.map((server) => server.receive(['ready', 'failed'], 60_000)));
    const urls: string[] = [];
    for (const reply of replies) {
      if (reply.type === 'failed') throw new Error(reply.reason);
      urls.push(`http://127.0.0.1:${reply.port}/item`);
    }
    return { servers, urls };
  } catch (error) {
    await stopFleet({ servers, urls: [] });
    throw error;
  }
}

export async function stopFleet(fleet: Fleet): Promise<void> {
  for (const server of fleet.servers) server.send({ type: 'exit' });
  await stopAll(fleet.servers, 5_000);
}

/** The server process's CPU time so far (user + system), in microseconds. */
export async function serverCpu(server: Server): Promise<number> {
  server.send({ type: 'cpu' });
  return (await server.receive('cpu', 10_000)).micros;
}
