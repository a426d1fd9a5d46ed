import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { type SpawnedRedis, spawnRedis } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

let server: SpawnedRedis | undefined;

/** One shared redis-server for the integration tests (fault tests spawn their own). REDIS_URL overrides it. */
export async function setup(project: TestProject): Promise<void> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) {
    project.provide('redisUrl', fromEnv);
    return;
  }
  server = await spawnRedis();
  project.provide('redisUrl', server.url);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
