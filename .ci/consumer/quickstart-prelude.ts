// Put before the README's quick start (by .ci/consumer.sh) to declare what the snippet takes as given.
import type { Server } from 'node:http';
import type { Express } from 'express';

declare const app: Express;
declare const server: Server; // what app.listen() returned
declare const log: { warn(error: unknown): void };
declare const db: {
  products: { find(id: string, options: { signal: AbortSignal }): Promise<{ id: string; name: string }> };
};
