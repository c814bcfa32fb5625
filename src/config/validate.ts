// A small schema checker for the configuration: every problem is reported with its path and
// what was expected (`limits.maxBodySize: expected an integer ≥ 0, got "1mb"`), and unknown keys
// get a "did you mean" from the known ones, because a typo silently ignored is the worst outcome.

export type Spec =
  | { kind: 'string'; nonEmpty?: boolean }
  | { kind: 'int'; min?: number; max?: number }
  | { kind: 'bool' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'object'; fields: Record<string, Spec>; required?: readonly string[] }
  | { kind: 'array'; of: Spec; nonEmpty?: boolean }
  | { kind: 'record'; of: Spec }
  | { kind: 'union'; of: readonly Spec[] }
  | { kind: 'custom'; expected: string; test: (v: unknown) => boolean };

export function describe(spec: Spec): string {
  switch (spec.kind) {
    case 'string':
      return spec.nonEmpty ? 'a non-empty string' : 'a string';
    case 'int':
      if (spec.min !== undefined && spec.max !== undefined) return `an integer from ${spec.min} to ${spec.max}`;
      return spec.min !== undefined ? `an integer ≥ ${spec.min}` : 'an integer';
    case 'bool':
      return 'true or false';
    case 'enum':
      return `one of ${spec.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'object':
      return 'an object';
    case 'array':
      return `${spec.nonEmpty ? 'a non-empty array' : 'an array'} of ${plural(describe(spec.of))}`;
    case 'record':
      return `an object whose values are ${plural(describe(spec.of))}`;
    case 'union':
      return spec.of.map(describe).join(' or ');
    case 'custom':
      return spec.expected;
  }
}

function plural(s: string): string {
  return s.replace(/^an? /, '').replace(/^((?:non-empty )?(?:string|integer|object|array))/, '$1s');
}

/** Shows a value in a message without dumping a huge structure (or a secret) into the terminal. */
export function show(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function matches(v: unknown, spec: Spec): boolean {
  return check(v, spec, '').length === 0;
}

/** Returns one message per problem; an empty list means valid. */
export function check(value: unknown, spec: Spec, path: string): string[] {
  const at = path === '' ? '(root)' : path;
  const bad = () => [`${at}: expected ${describe(spec)}, got ${show(value)}`];
  switch (spec.kind) {
    case 'string':
      return typeof value === 'string' && (!spec.nonEmpty || value !== '') ? [] : bad();
    case 'int':
      return typeof value === 'number' &&
        Number.isInteger(value) &&
        (spec.min === undefined || value >= spec.min) &&
        (spec.max === undefined || value <= spec.max)
        ? []
        : bad();
    case 'bool':
      return typeof value === 'boolean' ? [] : bad();
    case 'enum':
      return typeof value === 'string' && spec.values.includes(value) ? [] : bad();
    case 'custom':
      return spec.test(value) ? [] : bad();
    case 'union':
      return spec.of.some((s) => matches(value, s)) ? [] : bad();
    case 'array':
      if (!Array.isArray(value) || (spec.nonEmpty === true && value.length === 0)) return bad();
      return value.flatMap((v, i) => check(v, spec.of, `${path}[${i}]`));
    case 'record':
      if (!isPlainObject(value)) return bad();
      return Object.entries(value).flatMap(([k, v]) => check(v, spec.of, join(path, k)));
    case 'object': {
      if (!isPlainObject(value)) return bad();
      const out: string[] = [];
      for (const [k, v] of Object.entries(value)) {
        const field = spec.fields[k];
        if (field === undefined) {
          const guess = closest(k, Object.keys(spec.fields));
          out.push(`${join(path, k)}: unknown key${guess ? ` (did you mean "${guess}"?)` : ''}`);
        } else if (v !== undefined) {
          out.push(...check(v, field, join(path, k)));
        }
      }
      for (const k of spec.required ?? []) {
        if ((value as Record<string, unknown>)[k] === undefined) {
          out.push(`${join(path, k)}: required, expected ${describe(spec.fields[k] as Spec)}`);
        }
      }
      return out;
    }
  }
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** The known key within edit distance 2 of `word`, if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        (prev[j] as number) + 1,
        (cur[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length] as number;
}
