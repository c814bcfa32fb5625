// Directory listing: an HTML page (sortable by name, size or date through links, so it works
// without script) or JSON for `Accept: application/json`. Every name is escaped for its context:
// HTML-escaped in text, percent-encoded in links.
import { encodeSegment } from '../../analysis/target-path.ts';
import { escapeHtml } from '../../util/escape-html.ts';

export interface ListingItem {
  name: string;
  directory: boolean;
  size: number;
  mtimeMs: number;
}

export type SortKey = 'name' | 'size' | 'mtime';

export interface ListingView {
  /** Decoded segments of the directory's URL path. */
  segments: readonly string[];
  sort: SortKey;
  descending: boolean;
}

export function parseSort(search: string): { sort: SortKey; descending: boolean } {
  const q = new URLSearchParams(search);
  const s = q.get('sort');
  const sort: SortKey = s === 'size' || s === 'mtime' ? s : 'name';
  return { sort, descending: q.get('order') === 'desc' };
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** Directories first, then by the chosen key; names break ties so the order is stable. */
export function sortItems(items: ListingItem[], sort: SortKey, descending: boolean): ListingItem[] {
  const dir = descending ? -1 : 1;
  return items.sort((a, b) => {
    if (a.directory !== b.directory) return a.directory ? -1 : 1;
    let c = 0;
    if (sort === 'size') c = a.size - b.size;
    else if (sort === 'mtime') c = a.mtimeMs - b.mtimeMs;
    if (c === 0) c = collator.compare(a.name, b.name);
    return c * dir;
  });
}

export function formatSize(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

function formatDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

export function listingJson(items: ListingItem[]): string {
  return JSON.stringify(
    items.map((i) => ({
      name: i.name,
      type: i.directory ? 'directory' : 'file',
      size: i.directory ? null : i.size,
      modified: new Date(i.mtimeMs).toISOString(),
    })),
  );
}

const STYLE = `
:root{color-scheme:light dark;--fg:#1d2430;--muted:#667085;--bg:#f7f8fa;--card:#fff;--line:#e4e7ec;--accent:#2f6feb;--hover:#f0f4ff}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--muted:#98a2b3;--bg:#0f1217;--card:#171b22;--line:#272d37;--accent:#6ea2ff;--hover:#1d2533}}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
main{max-width:960px;margin:40px auto;padding:0 20px}
h1{font-size:20px;font-weight:600;margin:0 0 16px;word-break:break-all}h1 a{color:var(--accent);text-decoration:none}h1 span{color:var(--muted)}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;overflow:hidden;box-shadow:0 1px 2px rgba(16,24,40,.05)}
table{width:100%;border-collapse:collapse}th,td{padding:9px 16px;text-align:left;border-bottom:1px solid var(--line)}
tr:last-child td{border-bottom:0}th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);font-weight:600;background:var(--bg)}
th a{color:inherit;text-decoration:none}th a:hover{color:var(--accent)}th .arrow{font-size:10px;margin-left:4px}
td.size,th.size{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}td.date{white-space:nowrap;color:var(--muted);font-variant-numeric:tabular-nums}
tbody tr:hover{background:var(--hover)}td.name a{color:var(--fg);text-decoration:none;word-break:break-all}td.name a:hover{color:var(--accent);text-decoration:underline}
.icon{display:inline-block;width:1.6em;vertical-align:-3px;color:var(--muted)}.icon svg{width:16px;height:16px;fill:none;stroke:currentColor;stroke-width:1.8;stroke-linejoin:round;stroke-linecap:round}.dir .icon{color:var(--accent)}
footer{margin-top:12px;font-size:12px;color:var(--muted)}
`;

// Inline SVG: no icon font or emoji font needed on the client.
const FOLDER_ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M3 6.5A1.5 1.5 0 0 1 4.5 5H9l2 2.5h8.5A1.5 1.5 0 0 1 21 9v9.5a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 18.5z"/></svg>';
const FILE_ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 3h8l5 5v12a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1V4a1 1 0 0 1 1-1z"/><path d="M14 3v5h5"/></svg>';
const UP_ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M9 14l-4-4 4-4"/><path d="M5 10h9a5 5 0 0 1 5 5v4"/></svg>';

function headerCell(label: string, key: SortKey, view: ListingView, cls = ''): string {
  const active = view.sort === key;
  const order = active && !view.descending ? 'desc' : 'asc';
  const arrow = active ? `<span class="arrow">${view.descending ? '▼' : '▲'}</span>` : '';
  const aria = active ? ` aria-sort="${view.descending ? 'descending' : 'ascending'}"` : '';
  return `<th class="${cls}"${aria}><a href="?sort=${key}&amp;order=${order}">${label}</a>${arrow}</th>`;
}

export function listingHtml(items: ListingItem[], view: ListingView): string {
  const title = `/${view.segments.map(escapeHtml).join('/')}${view.segments.length ? '/' : ''}`;
  let crumbs = '<a href="/">/</a>';
  view.segments.forEach((seg, i) => {
    const href = `/${view.segments
      .slice(0, i + 1)
      .map((s) => escapeHtml(encodeSegment(s)))
      .join('/')}/`;
    crumbs += `<a href="${href}">${escapeHtml(seg)}</a><span>/</span>`;
  });
  const rows: string[] = [];
  if (view.segments.length > 0) {
    rows.push(
      `<tr class="dir"><td class="name"><a href="../"><span class="icon">${UP_ICON}</span>..</a></td><td class="size">—</td><td class="date"></td></tr>`,
    );
  }
  for (const it of items) {
    const href = escapeHtml(encodeSegment(it.name)) + (it.directory ? '/' : '');
    const icon = it.directory ? FOLDER_ICON : FILE_ICON;
    rows.push(
      `<tr class="${it.directory ? 'dir' : 'file'}"><td class="name"><a href="./${href}"><span class="icon">${icon}</span>${escapeHtml(it.name)}${it.directory ? '/' : ''}</a></td>` +
        `<td class="size">${it.directory ? '—' : formatSize(it.size)}</td><td class="date"><time datetime="${new Date(it.mtimeMs).toISOString()}">${formatDate(it.mtimeMs)}</time></td></tr>`,
    );
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Index of ${title}</title><style>${STYLE}</style></head>
<body><main><h1>Index of ${crumbs}</h1>
<div class="card"><table><thead><tr>${headerCell('Name', 'name', view, 'name')}${headerCell('Size', 'size', view, 'size')}${headerCell('Modified (UTC)', 'mtime', view, 'date')}</tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>
<footer>${items.length} ${items.length === 1 ? 'entry' : 'entries'} · Foyer</footer></main></body></html>
`;
}
