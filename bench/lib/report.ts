// Medians and the printed table. Ratios are always subject ÷ peer on requests per second.
import type { Sample, Scenario } from './types.ts';

export interface ServerResult {
  label: string;
  samples: Sample[];
  /** Why this server has no numbers (sanity request failed, start failed …). */
  failed?: string;
}

/** The run with the median req/s (lower middle for an even count), so that its p99 belongs to it. */
export function median(samples: Sample[]): Sample | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** Median server CPU seconds per request over the runs: steadier than req/s on a busy machine. */
function medianCpu(samples: Sample[]): number | undefined {
  const values = samples.map((s) => s.cpuPerRequest).filter((v): v is number => v !== undefined);
  if (values.length === 0) return undefined;
  values.sort((a, b) => a - b);
  return values[Math.floor((values.length - 1) / 2)];
}

/**
 * The median over rounds of subject ÷ server, each from one round's pair of samples. A shared
 * machine's speed drifts over minutes; samples of one round are close in time, so their ratio
 * cancels the drift that the ratio of the two medians keeps. Undefined with fewer than 3 pairs.
 */
export function pairedRatio(subject: Sample[], server: Sample[]): number | undefined {
  const ratios: number[] = [];
  for (const s of subject) {
    const o = server.find((x) => x.round !== undefined && x.round === s.round);
    if (o !== undefined && o.requestsPerSecond > 0) ratios.push(s.requestsPerSecond / o.requestsPerSecond);
  }
  if (ratios.length < 3) return undefined;
  ratios.sort((a, b) => a - b);
  const mid = ratios.length >> 1;
  return ratios.length % 2 === 1 ? ratios[mid] : (ratios[mid - 1]! + ratios[mid]!) / 2;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)) + ' ms';
const spread = (samples: Sample[]) => {
  if (samples.length < 2) return '';
  const rps = samples.map((s) => s.requestsPerSecond);
  const lo = Math.min(...rps);
  const hi = Math.max(...rps);
  return `±${(((hi - lo) / 2 / ((hi + lo) / 2)) * 100).toFixed(0)}%`;
};

export function formatTable(
  scenario: Scenario,
  results: ServerResult[],
  meta: { connections: number; duration: number; runs: number; tool: string },
): string {
  const subject = results[0]!;
  const subjectMedian = median(subject.samples);
  const subjectCpu = medianCpu(subject.samples);
  const header = [
    'server',
    'req/s',
    'spread',
    'p99',
    'mean',
    'CPU µs/req',
    `${subject.label} ÷ server`,
    'paired',
    'p99 ratio',
    'CPU ratio',
    ...(scenario.ceiling ? ['÷ ceiling'] : []),
    'target',
  ];
  const ceilingResult = results.find((r) => r.label === scenario.ceiling);
  const ceilingMedian = ceilingResult ? median(ceilingResult.samples) : undefined;
  const rows: string[][] = [header];
  const notes: string[] = [];
  for (const r of results) {
    const m = median(r.samples);
    if (!m) {
      rows.push([r.label, '—', ...header.slice(2).map(() => '')]);
      notes.push(`  ${r.label}: ${r.failed ?? 'no sample'}`);
      continue;
    }
    const ofMedians = subjectMedian ? subjectMedian.requestsPerSecond / m.requestsPerSecond : Number.NaN;
    const paired = pairedRatio(subject.samples, r.samples);
    // The target is judged on the paired ratio when there are enough rounds (see pairedRatio).
    const ratio = paired ?? ofMedians;
    const p99Ratio = subjectMedian ? subjectMedian.p99 / m.p99 : Number.NaN;
    const target = scenario.targets?.find((t) => t.peer === r.label);
    const goals: string[] = [];
    if (target?.min !== undefined && Number.isFinite(ratio)) {
      goals.push(`req/s ≥ ${target.min.toFixed(2)}× ${ratio >= target.min ? '✓' : '✗'}`);
    }
    if (target?.maxP99Ratio !== undefined && Number.isFinite(p99Ratio)) {
      goals.push(`p99 ≤ ${target.maxP99Ratio.toFixed(2)}× ${p99Ratio <= target.maxP99Ratio ? '✓' : '✗'}`);
    }
    const targetText = goals.join(', ');
    const cpu = medianCpu(r.samples);
    const cpuRatio = cpu !== undefined && subjectCpu !== undefined ? cpu / subjectCpu : Number.NaN;
    rows.push([
      r.label,
      int(m.requestsPerSecond),
      spread(r.samples),
      ms(m.p99),
      ms(m.mean),
      cpu === undefined ? '—' : (cpu * 1e6).toFixed(1),
      Number.isFinite(ofMedians) ? ofMedians.toFixed(2) : '—',
      paired === undefined ? '—' : paired.toFixed(2),
      Number.isFinite(p99Ratio) ? p99Ratio.toFixed(2) : '—',
      Number.isFinite(cpuRatio) ? cpuRatio.toFixed(2) : '—',
      ...(scenario.ceiling
        ? [ceilingMedian ? (m.requestsPerSecond / ceilingMedian.requestsPerSecond).toFixed(2) : '—']
        : []),
      targetText,
    ]);
    const errs = r.samples.reduce((n, s) => n + s.errors, 0);
    const bad = r.samples.reduce((n, s) => n + s.badStatus, 0);
    if (errs || bad)
      notes.push(`  ${r.label}: ${errs} socket errors/timeouts, ${bad} bad statuses over ${r.samples.length} run(s)`);
  }
  const widths = header.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const numeric = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, ...(scenario.ceiling ? [10] : [])]);
  const lines = rows.map((row) =>
    row
      .map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
  const method = scenario.method ?? 'GET';
  const title =
    `scenario ${scenario.name} — ${scenario.description ?? `${method} ${scenario.path}`}; ` +
    `${meta.connections} connections, pipelining ${scenario.pipelining ?? 1}, ${meta.duration} s × ${meta.runs} run(s)` +
    `${meta.runs > 1 ? ' (median)' : ''}, ${meta.tool}`;
  const p99Note =
    "  (paired: the median over rounds of one round's subject ÷ server, which the target is judged on from 3 runs;" +
    " p99 ratio: subject's p99 ÷ server's, below 1: the subject's tail is shorter; CPU ratio: server's CPU per" +
    " request ÷ subject's, above 1: the subject needs less CPU per request" +
    (scenario.ceiling ? `; ÷ ceiling: server's req/s ÷ ${scenario.ceiling}'s` : '') +
    ')';
  return [title, ...lines, ...(notes.length ? ['notes:', ...notes] : []), p99Note].join('\n');
}
