// `--watch`: a debounced, recursive watch of the app's folder for development. One callback per
// burst of changes (an editor's save is several events), naming what changed.
import process from 'node:process';
import { type FSWatcher, watch } from 'node:fs';
import { relative } from 'node:path';

const IGNORED = /(^|[/\\])(node_modules|\.git|dist)([/\\]|$)|~$|\.swp$/;

export function watchPaths(paths: string[], onChange: (changed: string[]) => void, debounceMs = 200): () => void {
  const watchers: FSWatcher[] = [];
  let pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  for (const root of paths) {
    const w = watch(root, { recursive: true, persistent: false }, (_event, name) => {
      const file = name === null ? root : `${root}/${name.toString()}`;
      if (IGNORED.test(relative(root, file))) return;
      pending.add(relative(process.cwd(), file) || file);
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => {
        const changed = [...pending];
        pending = new Set();
        onChange(changed);
      }, debounceMs);
    });
    w.on('error', () => {});
    watchers.push(w);
  }
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}
