// Responses that show a directory's entries: the listing page, and the 300 list of typo candidates.
import { Buffer } from 'node:buffer';
import { join } from 'node:path';
import type { DirEntry, FileStat } from '../../os/file-system.ts';
import { errorCode } from '../../os/file-system.ts';
import type { ListingItem } from './listing.ts';
import { escapeHtml } from '../../util/escape-html.ts';
import { listingHtml, listingJson, parseSort, sortItems } from './listing.ts';
import type { ResolvedOptions } from './options.ts';
import type { Resolver } from './resolver.ts';
import { errorResponse, headBody } from './responses.ts';

const MAX_ITEMS = 10_000;
const STAT_BATCH = 64;

/** JSON only when the client prefers it over HTML (a browser's Accept names text/html). */
function wantsJson(accept: string | null): boolean {
  return accept !== null && /application\/json/.test(accept) && !accept.includes('text/html');
}

export async function listingResponse(
  dirPath: string,
  segments: readonly string[],
  search: string,
  req: Request,
  isHead: boolean,
  o: ResolvedOptions,
  resolver: Resolver,
): Promise<Response> {
  let dirents: DirEntry[];
  try {
    dirents = (await o.fs.readdir(dirPath)).slice(0, MAX_ITEMS);
  } catch (err) {
    // Readable to stat but not to list (mode 0711), or gone since it was resolved.
    const code = errorCode(err);
    if (code === 'EACCES' || code === 'EPERM') return errorResponse(req, 'FOYER_FORBIDDEN');
    if (code === 'ENOENT' || code === 'ENOTDIR') return errorResponse(req, 'FOYER_NOT_FOUND');
    throw err;
  }
  // Dot-names stay out of listings unless dotfiles are allowed (even `.well-known`, reachable as it is).
  const showDots = o.dotfiles === 'allow';
  const names = dirents.map((d) => d.name).filter((n) => showDots || n.charCodeAt(0) !== 46);
  const items: ListingItem[] = [];
  // Bounded concurrency: a directory of thousands of entries must not open thousands of requests at once.
  for (let i = 0; i < names.length; i += STAT_BATCH) {
    const batch = names.slice(i, i + STAT_BATCH);
    const stats = await Promise.all(
      batch.map(async (name): Promise<[string, FileStat] | undefined> => {
        const p = join(dirPath, name);
        try {
          const st = await o.fs.stat(p);
          return (await resolver.contained(p)) ? [name, st] : undefined;
        } catch {
          return undefined; // dangling symlink or a race with deletion: not listed
        }
      }),
    );
    for (const s of stats) {
      if (s === undefined) continue;
      const [name, st] = s;
      const directory = st.isDirectory();
      if (!directory && (!st.isFile() || !resolver.allowedFile(name))) continue;
      items.push({ name, directory, size: st.size, mtimeMs: st.mtimeMs });
    }
  }
  const { sort, descending } = parseSort(search);
  sortItems(items, sort, descending);
  const json = wantsJson(req.headers.get('accept'));
  const body = json ? listingJson(items) : listingHtml(items, { segments, sort, descending });
  const bytes = Buffer.from(body, 'utf8');
  const headers = {
    'content-type': json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8',
    'content-length': String(bytes.byteLength),
    'cache-control': 'no-cache',
    vary: 'Accept',
    'x-content-type-options': 'nosniff',
  };
  return new Response(isHead ? headBody() : bytes, { status: 200, headers });
}

/** 300 Multiple Choices (RFC 9110 §15.4.1) listing the typo candidates; the first is also in Location. */
export function choicesResponse(locations: string[], isHead: boolean): Response {
  const links = locations.map((l) => `<li><a href="${escapeHtml(l)}">${escapeHtml(decodeSafe(l))}</a></li>`).join('');
  const body = Buffer.from(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Multiple Choices</title></head><body><h1>Did you mean</h1><ul>${links}</ul></body></html>\n`,
    'utf8',
  );
  return new Response(isHead ? headBody() : body, {
    status: 300,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-length': String(body.byteLength),
      location: locations[0]!,
      'x-content-type-options': 'nosniff',
    },
  });
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
