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
 * Subject ÷ server per interleaved round, from each round's pair of samples, sorted. A shared
 * machine's speed drifts over minutes; samples of one round are close in time, so their ratio
 * cancels the drift that the ratio of the two medians keeps.
 */
export function pairedRatios(subject: Sample[], server: Sample[]): number[] {
  const ratios: number[] = [];
  for (const s of subject) {
    const o = server.find((x) => x.round !== undefined && x.round === s.round);
    if (o !== undefined && o.requestsPerSecond > 0) ratios.push(s.requestsPerSecond / o.requestsPerSecond);
  }
  return ratios.sort((a, b) => a - b);
}

/** The median of sorted values (the mean of the two middle ones for an even count). */
function middle(sorted: number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Fewer paired rounds than this and no paired ratio is given (nor a target judged, see formatTable). */
const MIN_PAIRS = 3;

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
    const pairs = pairedRatios(subject.samples, r.samples);
    const paired = pairs.length >= MIN_PAIRS ? middle(pairs) : undefined;
    // With several runs a target is judged on the paired ratio only: a run that failed must not
    // turn the verdict over to the ratio of medians, which can flatter the subject (the peer's
    // median of two is its worse run). With one or two runs, the ratio of medians, as always.
    const judged = meta.runs >= MIN_PAIRS ? paired : ofMedians;
    const ratio = judged ?? Number.NaN;
    const p99Ratio = subjectMedian ? subjectMedian.p99 / m.p99 : Number.NaN;
    const target = scenario.targets?.find((t) => t.peer === r.label);
    const goals: string[] = [];
    if (target?.min !== undefined) {
      if (Number.isFinite(ratio)) goals.push(`req/s ≥ ${target.min.toFixed(2)}× ${ratio >= target.min ? '✓' : '✗'}`);
      else if (r !== subject)
        goals.push(`req/s ≥ ${target.min.toFixed(2)}×: not judged, under ${MIN_PAIRS} paired rounds`);
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
      paired === undefined
        ? '—'
        : `${paired.toFixed(2)} (${pairs[0]!.toFixed(2)}–${pairs[pairs.length - 1]!.toFixed(2)})`,
      Number.isFinite(p99Ratio) ? p99Ratio.toFixed(2) : '—',
      Number.isFinite(cpuRatio) ? cpuRatio.toFixed(2) : '—',
      ...(scenario.ceiling
        ? [ceilingMedian ? (m.requestsPerSecond / ceilingMedian.requestsPerSecond).toFixed(2) : '—']
        : []),
      targetText,
    ]);
    if (r.failed !== undefined) notes.push(`  ${r.label}: a run failed: ${r.failed}`);
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
    "  (paired: the median, and in brackets the range, over rounds of one round's subject ÷ server; from 3 runs the" +
    ' target is judged on it;' +
    " p99 ratio: subject's p99 ÷ server's, below 1: the subject's tail is shorter; CPU ratio: server's CPU per" +
    " request ÷ subject's, above 1: the subject needs less CPU per request" +
    (scenario.ceiling ? `; ÷ ceiling: server's req/s ÷ ${scenario.ceiling}'s` : '') +
    ')';
  const pairLines = cpuPairLines(scenario, results);
  return [title, ...lines, ...(notes.length ? ['notes:', ...notes] : []), p99Note, ...pairLines].join('\n');
}

/**
 * CPU per request of each scenario.cpuPairs entry, more processes ÷ one, from the samples of one
 * round (taken minutes apart at most, so a shared machine's drift cancels as in pairedRatios).
 */
function cpuPairLines(scenario: Scenario, results: ServerResult[]): string[] {
  if (scenario.cpuPairs === undefined) return [];
  const lines = ['CPU µs per request, more processes ÷ one (paired by round: median, range):'];
  for (const pair of scenario.cpuPairs) {
    const many = results.find((r) => r.label === pair.many)?.samples ?? [];
    const one = results.find((r) => r.label === pair.one)?.samples ?? [];
    const ratios: number[] = [];
    for (const s of many) {
      const o = one.find((x) => x.round !== undefined && x.round === s.round);
      if (s.cpuPerRequest !== undefined && o?.cpuPerRequest) ratios.push(s.cpuPerRequest / o.cpuPerRequest);
    }
    ratios.sort((a, b) => a - b);
    const name = `  ${pair.name} (${pair.many} ÷ ${pair.one})`;
    if (ratios.length === 0) {
      lines.push(`${name}: —`);
      continue;
    }
    const m = middle(ratios);
    const range = `${ratios[0]!.toFixed(2)}–${ratios[ratios.length - 1]!.toFixed(2)}`;
    const goal =
      pair.max === undefined
        ? ''
        : ratios.length >= MIN_PAIRS
          ? `  target ≤ ${pair.max.toFixed(2)} ${m <= pair.max ? '✓' : '✗'}`
          : `  target ≤ ${pair.max.toFixed(2)}: not judged, under ${MIN_PAIRS} paired rounds`;
    lines.push(`${name}: ${m.toFixed(2)} (${range})${goal}`);
  }
  return lines;
}
