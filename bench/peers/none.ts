import type { Peer } from './types.js';

/** The baseline: no cache at all, the loader runs on every call. */
export const noCache: Peer = {
  name: 'no cache',
  setup: 'calls the loader on every get',
  packages: [],
  async create() {
    return { get: (key, load) => load(key), close: async () => {} };
  },
};
