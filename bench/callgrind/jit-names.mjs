// Names the JIT code in a callgrind profile. callgrind sees V8's generated code as `???:0x…`
// addresses; a server started with `node --perf-basic-prof` writes /tmp/perf-PID.map, which says
// which JavaScript function each address range holds. Usage:
//   callgrind_annotate --threshold=99 OUT | node bench/callgrind/jit-names.mjs /tmp/perf-PID.map N
// prints each function's instructions per request (N: the requests measured), JIT code named.
// An address is named by the code that covered it last in the run: code replaced inside the
// measured window is counted under its successor's name (compare runs made with the same warm-up,
// see steady.sh).
import { readFileSync } from 'node:fs';

const [mapFile, perRequest] = process.argv.slice(2);
const n = Number(perRequest);
if (!mapFile || !(n > 0)) {
  console.error('usage: callgrind_annotate OUT | node jit-names.mjs /tmp/perf-PID.map REQUESTS');
  process.exit(2);
}
// The map only grows: when V8 frees code and reuses its memory, a later line covers addresses an
// earlier one named. The last line that covers an address is the code there now.
const ranges = readFileSync(mapFile, 'latin1')
  .split('\n')
  .filter(Boolean)
  .map((l) => {
    const [start, size, ...name] = l.split(' ');
    return { start: BigInt(`0x${start}`), end: BigInt(`0x${start}`) + BigInt(`0x${size}`), name: name.join(' ') };
  });

const named = new Map();
function nameOf(addr) {
  if (!named.has(addr)) {
    let name;
    for (let i = ranges.length - 1; i >= 0; i--) {
      const r = ranges[i];
      if (addr >= r.start && addr < r.end) {
        name = r.name;
        break;
      }
    }
    named.set(addr, name);
  }
  return named.get(addr);
}

const totals = new Map();
for (const line of readFileSync(0, 'latin1').split('\n')) {
  const m = /^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(.*)$/.exec(line);
  if (!m) continue;
  let name = m[2];
  const jit = /^\?\?\?:0x([0-9a-f]+)/.exec(name);
  if (jit) name = `JIT ${nameOf(BigInt(`0x${jit[1]}`)) ?? name}`;
  totals.set(name, (totals.get(name) ?? 0) + Number(m[1].replaceAll(',', '')));
}
for (const [name, count] of [...totals].sort((a, b) => b[1] - a[1]))
  console.log(`${(count / n).toFixed(0).padStart(9)}  ${name.slice(0, 160)}`);
