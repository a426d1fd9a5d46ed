import autocannon from 'autocannon';

/** What one autocannon run measured. */
export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly total: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
}

/**
 * Drives HTTP load with autocannon from this process (the servers run in their own processes). Several
 * URLs share the connections round-robin, as a load balancer in front of a fleet would.
 */
export async function drive(
  urls: readonly string[],
  options: { connections: number; seconds: number },
): Promise<LoadResult> {
  const result = await autocannon({
    // autocannon accepts an array of URLs at run time (lib/run.js maps it through ofURL); its types say string.
    url: (urls.length === 1 ? urls[0] : [...urls]) as unknown as string,
    connections: options.connections,
    duration: options.seconds,
    pipelining: 1,
    timeout: 10,
  });
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}
