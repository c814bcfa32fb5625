// Load through autocannon (a devDependency), used when wrk is not installed. It runs in the
// harness's process: the servers are children, so they still do not share its event loop.
import autocannon from 'autocannon';
import type { LoadOptions, Sample } from './types.ts';

export async function runAutocannon(o: LoadOptions): Promise<Sample> {
  const r = await autocannon({
    url: o.url,
    method: o.method,
    headers: o.headers,
    body: o.body,
    pipelining: o.pipelining,
    connections: o.connections,
    duration: o.durationSeconds,
    timeout: 5,
  });
  const seconds = r.duration;
  return {
    requestsPerSecond: r.requests.total / seconds,
    p99: r.latency.p99,
    mean: r.latency.mean,
    requests: r.requests.total,
    errors: r.errors + r.timeouts,
    badStatus: r.non2xx,
    durationSeconds: seconds,
  };
}
