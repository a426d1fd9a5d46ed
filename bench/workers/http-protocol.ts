/** Which server a process runs. */
export type ServerVariant =
  | 'bare'
  | 'herdcache'
  | 'apicache'
  | 'no cache'
  | 'fetch bare'
  | 'fetch herdcache'
  | 'fastify bare'
  | 'fastify herdcache';

export type ToHttpServer =
  | {
      readonly type: 'init';
      readonly variant: ServerVariant;
      readonly redisUrl: string;
      readonly namespace: string;
      /** Fresh time of cached responses, in ms. */
      readonly ttl: number;
      /** How long the route handler takes (setTimeout), in ms; 0 answers at once. */
      readonly handlerMs: number;
      /** Redis counter and per-window hash of handler calls, shared by every server of the run. */
      readonly counterKey: string;
      readonly windowsKey: string;
    }
  /** Start of the measured span: handler calls are counted per ttl window from here. */
  | { readonly type: 'start'; readonly at: number }
  /** Asks for the process's CPU time so far. */
  | { readonly type: 'cpu' }
  | { readonly type: 'exit' };

export type FromHttpServer =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'failed'; readonly reason: string }
  /** process.cpuUsage() in microseconds, user + system. */
  | { readonly type: 'cpu'; readonly micros: number };
