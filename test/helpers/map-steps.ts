// Counts the entries every Map iterator hands out while `fn` runs: a measure of work that does not
// depend on the machine's speed, for tests that guard against a scan per operation (a test never
// asserts a duration).
type IterName = 'entries' | 'keys' | 'values';

export function countMapSteps(fn: () => void): number {
  const proto = Map.prototype as unknown as Record<IterName | typeof Symbol.iterator, () => Iterator<unknown>>;
  const saved = { entries: proto.entries, keys: proto.keys, values: proto.values, iter: proto[Symbol.iterator] };
  let steps = 0;
  const counting = (original: () => Iterator<unknown>) =>
    function (this: Map<unknown, unknown>) {
      const it = original.call(this);
      const next = it.next.bind(it);
      it.next = () => {
        const r = next();
        if (r.done !== true) steps++;
        return r;
      };
      return it;
    };
  proto.entries = counting(saved.entries);
  proto.keys = counting(saved.keys);
  proto.values = counting(saved.values);
  proto[Symbol.iterator] = counting(saved.iter);
  try {
    fn();
  } finally {
    proto.entries = saved.entries;
    proto.keys = saved.keys;
    proto.values = saved.values;
    proto[Symbol.iterator] = saved.iter;
  }
  return steps;
}
