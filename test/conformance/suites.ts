// The three shared HTTP/1.1 conformance suites (../shared/conformance/), how each is run against
// Foyer, and how the runner's output is read. Used by conformance.test.ts and show-case.ts.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Limits } from '../../src/reception/limits.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The shared folder sits beside the repository (CI clones main with ../shared beside it). */
export const conformanceDir = resolve(repoRoot, '../shared/conformance');
export const runnerPath = join(conformanceDir, 'run-cases.mjs');
export const available = existsSync(runnerPath);

/**
 * httpd-tests' limits.t runs Apache with a 128-byte request line, 1024-byte fields, 32 fields and a
 * 64 KiB body. Foyer limits the whole head rather than each field, so the head limit is the request
 * line plus one field: 2 × 500 bytes of the same field still fit, 2 × 600 do not, as in Apache.
 */
export const apacheLimits: Partial<Limits> = {
  maxRequestLineSize: 128,
  maxHeaderSize: 128 + 1024,
  maxHeaderCount: 32,
  maxBodySize: 64 * 1024,
};

export interface SuiteRun {
  /** Shown as the test name. */
  name: string;
  file: string;
  args: string[];
  /** Keep only these case ids (undefined: all cases of the file). */
  only?: (ids: string[]) => string[];
  /** Run against a server with these limits instead of the defaults. */
  limits?: Partial<Limits>;
}

const isApacheLimits = (id: string) => id.startsWith('apache-limits-');

export const suiteRuns: SuiteRun[] = [
  { name: 'apache httpd http_strict (strict profile)', file: 'apache_http_strict.json', args: ['--profile', 'strict'] },
  { name: 'llhttp request corpus (Host variant)', file: 'llhttp_request_cases.json', args: ['--use-host-variant'] },
  {
    name: 'supplementary: Go, nginx, Node cases',
    file: 'supplementary_cases.json',
    args: [],
    only: (ids) => ids.filter((id) => !isApacheLimits(id)),
  },
  {
    name: 'supplementary: httpd limits.t with Apache-sized limits',
    file: 'supplementary_cases.json',
    args: [],
    only: (ids) => ids.filter(isApacheLimits),
    limits: apacheLimits,
  },
];

export function caseIds(file: string): string[] {
  const doc = JSON.parse(readFileSync(join(conformanceDir, file), 'utf8')) as
    | { id: string }[]
    | { cases: { id: string }[] };
  return (Array.isArray(doc) ? doc : doc.cases).map((c) => c.id);
}

export interface CaseLine {
  /** PASS, FAIL, SOFT or INFO. */
  verdict: 'PASS' | 'FAIL' | 'SOFT' | 'INFO';
  id: string;
  /** The runner's whole line: expectation, statuses received, open/closed, case name. */
  line: string;
}

export interface RunnerOutput {
  cases: CaseLine[];
  summary: { pass: number; fail: number; soft: number; info: number; skipped: number } | undefined;
  stderr: string;
  exitCode: number | null;
}

export function parseRunnerOutput(stdout: string): Pick<RunnerOutput, 'cases' | 'summary'> {
  const cases: CaseLine[] = [];
  let summary: RunnerOutput['summary'];
  for (const line of stdout.split('\n')) {
    const m = /^(PASS|FAIL|SOFT|INFO)[^\t]*\t([^\t]+)\t/.exec(line);
    if (m) cases.push({ verdict: m[1] as CaseLine['verdict'], id: m[2]!, line });
    else if (line.startsWith('{')) summary = JSON.parse(line) as RunnerOutput['summary'];
  }
  return { cases, summary };
}

/** Runs run-cases.mjs as a child (asynchronously: the server under test lives in this process). */
export function runSuite(run: SuiteRun, port: number): Promise<RunnerOutput> {
  // --verbose prints PASS lines too (needed to notice a listed deviation that passes again). The
  // runner ends a case after this much silence: above its 800 ms default, so that a loaded CI
  // machine (2 cores, tests in parallel) cannot turn a slow answer into a missing one.
  const args = [runnerPath, join(conformanceDir, run.file), '--port', String(port), '--verbose', '--timeout', '1500'];
  args.push(...run.args);
  if (run.only) args.push('--only', run.only(caseIds(run.file)).join(','));
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { cwd: conformanceDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (exitCode) => resolvePromise({ ...parseRunnerOutput(stdout), stderr, exitCode }));
  });
}

export interface Deviation {
  id: string;
  /** Why Foyer deliberately differs from the source's verdict. */
  reason: string;
}

export function loadDeviations(): Map<string, Deviation> {
  const list = JSON.parse(readFileSync(new URL('./deviations.json', import.meta.url), 'utf8')) as Deviation[];
  const map = new Map<string, Deviation>();
  for (const d of list) {
    if (!d.id || !d.reason?.trim())
      throw new Error(`deviations.json: every entry needs an id and a reason: ${JSON.stringify(d)}`);
    if (map.has(d.id)) throw new Error(`deviations.json: ${d.id} is listed twice`);
    map.set(d.id, d);
  }
  return map;
}

/** The handler every suite runs against: read the body (so body framing and limits apply), answer 200. */
export async function okHandler(req: Request): Promise<Response> {
  if (req.body) await req.arrayBuffer();
  return new Response('ok\n', { headers: { 'content-type': 'text/plain' } });
}
