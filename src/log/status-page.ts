// The admin listener's /status page: one self-refreshing HTML page a person can read at a glance
// (nginx's stub_status figures, a table of workers, the FastCGI pools) and the same as JSON.
// Every value is escaped: PIDs and figures are ours, but the page must stay safe if that changes.
import { type StatusSnapshot, stubStatus, type WorkerStatus } from './status.ts';

const esc = (v: unknown): string => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function duration(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

const num = (n: number) => n.toLocaleString('en-US');

function card(label: string, value: string, note = ''): string {
  return `<div class="card"><div class="label">${esc(label)}</div><div class="value">${esc(value)}</div>${
    note ? `<div class="note">${esc(note)}</div>` : ''
  }</div>`;
}

function workerRow(w: WorkerStatus, now: number): string {
  const pools = w.fastcgi;
  const busy = pools.reduce((n, p) => n + p.open - p.idle, 0);
  const idle = pools.reduce((n, p) => n + p.idle, 0);
  const queued = pools.reduce((n, p) => n + p.waiting, 0);
  const log =
    w.accessLog === undefined
      ? '–'
      : `${num(w.accessLog.lines)}${w.accessLog.dropped ? ` (${num(w.accessLog.dropped)} dropped)` : ''}`;
  return `<tr><td>${esc(w.id)}</td><td>${esc(w.pid)}</td><td><span class="state ${esc(w.state)}">${esc(w.state)}</span></td>
<td>${esc(duration(now - w.startedAt))}</td><td class="n">${esc(num(w.requests))}</td>
<td class="n">${esc(w.connections.active)}</td><td class="n">${esc(w.connections.idle)}</td>
<td class="n">${esc(bytes(w.rss))}</td><td class="n">${esc(bytes(w.heapUsed))}</td>
<td class="n">${pools.length === 0 ? '–' : esc(`${busy} / ${idle} / ${queued}`)}</td><td class="n">${esc(log)}</td></tr>`;
}

export function statusHtml(snap: StatusSnapshot, now = Date.now(), refreshSeconds = 5): string {
  const s = stubStatus(snap.workers);
  const state = snap.draining ? 'draining' : 'serving';
  const pools = snap.workers.some((w) => w.fastcgi.length > 0);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${esc(refreshSeconds)}">
<title>Foyer status</title>
<style>
:root { color-scheme: light dark; --bg:#f6f7f9; --fg:#1d2330; --muted:#667085; --card:#fff; --line:#e4e7ec; --ok:#12805c; --warn:#b54708; }
@media (prefers-color-scheme: dark) { :root { --bg:#14161b; --fg:#e6e8ec; --muted:#98a2b3; --card:#1d2026; --line:#2c313a; --ok:#32d583; --warn:#fdb022; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--fg); }
main { max-width: 1100px; margin: 0 auto; padding: 28px 20px 40px; }
header { display: flex; align-items: baseline; gap: 14px; flex-wrap: wrap; margin-bottom: 20px; }
h1 { font-size: 22px; margin: 0; }
h2 { font-size: 16px; margin: 28px 0 10px; }
.muted { color: var(--muted); }
.state { display: inline-block; padding: 1px 10px; border-radius: 999px; font-size: 13px; font-weight: 600; border: 1px solid currentColor; }
.state.serving { color: var(--ok); } .state.draining, .state.starting, .state.stopped { color: var(--warn); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; }
.label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.value { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; margin-top: 2px; }
.note { color: var(--muted); font-size: 12px; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
th, td { padding: 8px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr:last-child td { border-bottom: 0; }
.wrap { overflow-x: auto; }
footer { margin-top: 24px; font-size: 12px; }
</style></head>
<body><main>
<header><h1>Foyer</h1><span class="state ${esc(state)}">${esc(state)}</span>
<span class="muted">up ${esc(duration(now - snap.startedAt))} · ${esc(snap.workers.length)} worker${snap.workers.length === 1 ? '' : 's'} · ${esc(snap.restarts)} restart${snap.restarts === 1 ? '' : 's'}</span></header>
<section class="cards">
${card('Active connections', num(s.active))}
${card('Accepted', num(s.accepts), `handled ${num(s.handled)}`)}
${card('Requests', num(s.requests))}
${card('Reading', num(s.reading))}
${card('Writing', num(s.writing))}
${card('Waiting', num(s.waiting), 'idle keep-alive')}
</section>
<h2>Workers</h2>
<div class="wrap"><table>
<thead><tr><th>#</th><th>PID</th><th>State</th><th>Uptime</th><th class="n">Requests</th><th class="n">Conns</th><th class="n">Idle</th><th class="n">RSS</th><th class="n">Heap</th><th class="n">FastCGI busy / idle / queued</th><th class="n">Log lines</th></tr></thead>
<tbody>
${snap.workers.map((w) => workerRow(w, now)).join('\n')}
</tbody></table></div>
${pools ? '' : '<p class="muted">No FastCGI pool (PHP is not served).</p>'}
<footer class="muted">Refreshes every ${esc(refreshSeconds)} s · <a href="/metrics">/metrics</a> · <a href="/status?format=json">JSON</a> · <a href="/health">/health</a></footer>
</main></body></html>
`;
}
