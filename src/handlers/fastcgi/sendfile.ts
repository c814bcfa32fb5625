// X-Sendfile (`/absolute/path`, lighttpd/Apache mod_xsendfile) and X-Accel-Redirect (`/uri/path`,
// nginx) let a script authorise a download and hand the bytes back to the server. Opt-in: the
// file must resolve (realpath) inside the configured directory, and is served by the static
// handler so ranges and conditional requests work. The script's own body is discarded.
import type { Context, Middleware } from '../../types.ts';
import { FoyerError } from '../../util/errors.ts';
import { isContained } from '../../analysis/containment.ts';
import { analysePath } from '../../analysis/target-path.ts';
import type { FileSystem } from '../../os/file-system.ts';

// Headers from the script that still describe the file as the app wants it presented.
const KEPT = new Set([
  'content-type',
  'content-disposition',
  'cache-control',
  'expires',
  'set-cookie',
  'content-language',
]);
// Request headers that make sense for the file (ranges, validators, encodings).
const FORWARDED = [
  'range',
  'if-range',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'accept-encoding',
];

export interface SendfileTarget {
  header: 'x-sendfile' | 'x-accel-redirect';
  value: string;
}

/**
 * Maps the header value to a URL path relative to `root` (the real path of the sendfile root),
 * or undefined when it points outside.
 */
export async function sendfilePath(target: SendfileTarget, root: string, fs: FileSystem): Promise<string | undefined> {
  let fsPath: string;
  if (target.header === 'x-sendfile') {
    if (!target.value.startsWith('/') || target.value.includes('\0')) return undefined;
    fsPath = target.value;
  } else {
    const path = analysePath(target.value.split('?')[0]!);
    if (typeof path === 'string') return undefined;
    fsPath = `${root}/${path.segments.join('/')}`;
  }
  const real = await fs.realpath(fsPath).catch(() => undefined);
  if (real === undefined || real === root || !isContained(root, real)) return undefined;
  return real.slice(root.length);
}

export async function sendfileResponse(
  target: SendfileTarget,
  config: { root: string; serve: Middleware; fs: FileSystem },
  req: Request,
  ctx: Context,
  backendHeaders: Headers,
): Promise<Response> {
  const rel = await sendfilePath(target, config.root, config.fs);
  if (rel === undefined) {
    ctx.log.warn({ header: target.header }, 'sendfile path outside the sendfile root refused');
    throw new FoyerError('FOYER_NOT_FOUND');
  }
  const url = new URL(req.url);
  const encoded = rel
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
  const headers = new Headers();
  for (const name of FORWARDED) {
    const v = req.headers.get(name);
    if (v !== null) headers.set(name, v);
  }
  const inner = new Request(`${url.origin}${encoded}`, { method: req.method === 'HEAD' ? 'HEAD' : 'GET', headers });
  const res = await config.serve(inner, ctx, async () => {
    throw new FoyerError('FOYER_NOT_FOUND');
  });
  const out = new Headers(res.headers);
  for (const [name, value] of backendHeaders) {
    const lower = name.toLowerCase();
    if (!KEPT.has(lower)) continue;
    if (lower === 'set-cookie') out.append(name, value);
    else out.set(name, value);
  }
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers: out });
}
