// Human lines for the server's own log on a terminal: `12:04:31 INFO  message key=value …`, in
// colour, an error's stack indented below. pino still produces the JSON; this only renders it, so
// the fields (and the redaction of secrets) are the same in both forms.
import process from 'node:process';

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '\x1b[90m'],
  20: ['DEBUG', '\x1b[36m'],
  30: ['INFO ', '\x1b[32m'],
  40: ['WARN ', '\x1b[33m'],
  50: ['ERROR', '\x1b[31m'],
  60: ['FATAL', '\x1b[35m'],
};
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'err']);

// C0, DEL and C1 controls: ESC or the one-byte CSI (U+009B) reaching a terminal are commands to it
// (colours, the window title, cursor moves); request data (a decoded path in an error message)
// must never reach the operator's terminal as commands. JSON.stringify escapes C0, not DEL or C1.
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
const LATE_CONTROL = /[\x7f-\x9f]/g;
const hex = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Text a terminal shows as is: controls escaped (`\u001b`), quoted when it would not read as one word. */
function shown(s: string): string {
  if (/^[^\s"=]+$/.test(s) && !CONTROL.test(s)) return s;
  return JSON.stringify(s).replace(LATE_CONTROL, hex);
}

function value(v: unknown): string {
  if (typeof v === 'string') return shown(v);
  const json = JSON.stringify(v);
  return json === undefined ? String(v) : json.replace(LATE_CONTROL, hex);
}

/** A message or stack line: kept unquoted, its controls (but tabs) escaped. */
function plain(s: string): string {
  return CONTROL.test(s) ? s.replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/g, hex) : s;
}

/** One human line (plus an indented stack for errors) from one pino JSON line. */
export function prettyLine(json: string, colour: boolean): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const [name, tint] = LEVELS[o.level as number] ?? ['LOG  ', ''];
  const t = new Date(typeof o.time === 'number' ? o.time : Date.now());
  const hh = `${String(t.getHours()).padStart(2, '0')}:${String(t.getMinutes()).padStart(2, '0')}:${String(t.getSeconds()).padStart(2, '0')}`;
  let line = colour ? `${DIM}${hh}${RESET} ${tint}${name}${RESET} ` : `${hh} ${name} `;
  line += plain(String(o.msg ?? ''));
  for (const [k, v] of Object.entries(o)) {
    if (SKIP.has(k) || v === undefined) continue;
    line += colour ? ` ${DIM}${k}=${RESET}${value(v)}` : ` ${k}=${value(v)}`;
  }
  const err = o.err as { message?: string; stack?: string } | undefined;
  if (err !== undefined && typeof err === 'object') {
    line += colour ? ` ${DIM}err=${RESET}${value(err.message)}` : ` err=${value(err.message)}`;
    if (typeof err.stack === 'string') {
      const rest = err.stack.split('\n').slice(1).map(plain).join('\n');
      if (rest) line += `\n${rest}`;
    }
  }
  return `${line}\n`;
}

/** A pino destination that writes human lines to a stream (a terminal). */
export function prettyDestination(out: NodeJS.WritableStream & { isTTY?: boolean }) {
  const colour = out.isTTY === true && !process.env.NO_COLOR;
  return {
    write(line: string): void {
      out.write(prettyLine(line, colour));
    },
  };
}
