// The contract between scenario modules (bench/scenarios/*.ts) and the harness (bench/run.ts).

/** A server under test, running in its own process while started. */
export interface RunningServer {
  /** Origin, e.g. http://127.0.0.1:41234 — the scenario's path is appended. */
  url: string;
  /** Ends every process `start()` began. */
  stop(): Promise<void>;
  /** Process group of the server (set by nodeServer and processServer): its CPU time is reported. */
  pgid?: number;
}

/** How to start a server for `--profile`: extra node flags (--cpu-prof …). Servers may ignore it. */
export interface StartOptions {
  nodeFlags?: string[];
}

export interface BenchServer {
  /** Short name shown in the table, e.g. 'foyer', 'node:http'. Unique within a scenario. */
  label: string;
  start(options?: StartOptions): Promise<RunningServer>;
}

/** Goals printed beside the table (never asserted). */
export interface Target {
  peer: string;
  /** Subject req/s ÷ peer req/s should be at least this. */
  min?: number;
  /** Subject p99 ÷ peer p99 should be at most this (1 = "p99 no worse"). */
  maxP99Ratio?: number;
}

export interface CpuPair {
  /** Name printed for the pair, e.g. 'foyer'. */
  name: string;
  /** Label of the server with more processes (the numerator). */
  many: string;
  /** Label of the same server as one process (the denominator). */
  one: string;
  /** The ratio should be at most this. */
  max?: number;
}

export interface Scenario {
  /** Unique across all modules; the command line filters on it. */
  name: string;
  description?: string;
  /** Default GET. */
  method?: string;
  /** Request target appended to the server's url, e.g. '/plaintext'. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Requests in flight per connection; 1 = plain keep-alive. Default 1. */
  pipelining?: number;
  /** Overrides the --connections default. */
  connections?: number;
  /** Status the sanity request must get before the load starts. Default 200. */
  expectStatus?: number;
  /** The first server is the subject; the others are peers. */
  servers: BenchServer[];
  targets?: Target[];
  /** Label of the server that marks the physical limit: each row also gets its req/s ÷ this one's. */
  ceiling?: string;
  /**
   * Process models compared with themselves: each pair's CPU per request with more processes ÷ with
   * one, paired by round, printed under the table; `max`, when set, is a target judged on it.
   */
  cpuPairs?: CpuPair[];
  /** Set when the scenario cannot run here (missing program …); the reason is printed. */
  skip?: string;
}

/** One measurement of one server. */
export interface Sample {
  requestsPerSecond: number;
  /** Milliseconds. */
  p99: number;
  /** Milliseconds. */
  mean: number;
  requests: number;
  /** Connect, read, write errors and timeouts. */
  errors: number;
  /** Responses with a status >= 400 (wrk) or outside 2xx (autocannon). */
  badStatus: number;
  durationSeconds: number;
  /** Server CPU seconds (user + system, whole process group) per request; undefined if unknown. */
  cpuPerRequest?: number;
  /** Which interleaved round measured it (0-based): samples of one round were taken minutes apart at most. */
  round?: number;
}

export interface LoadOptions {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  pipelining: number;
  connections: number;
  durationSeconds: number;
}

export type LoadTool = 'wrk' | 'autocannon';
