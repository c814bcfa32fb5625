// Instructions per request for each machine instruction of one optimized JavaScript function: where
// inside a function its cost goes (which check, which loop, which builtin call). Run the server with
// V8 printing that function's optimized code, and callgrind recording costs per instruction:
//   CG_OPTS=--dump-instr=yes bench/callgrind/steady.sh L WARM N DEPTH -- \
//     node --print-opt-code --print-opt-code-filter=FUNCTION --code-comments server.mjs
//   node bench/callgrind/annotate-jit.mjs $CG_DIR/L-DEPTH.out $CG_DIR/L.stdout FUNCTION N
// Prints the disassembly with, on each executed instruction, its count per request, and on each
// call the callee's instructions per request. If the function was compiled more than once, the last
// code printed is the one annotated (the one that ran in the measured window after the warm-up).
import { readFileSync } from 'node:fs';

const [outFile, codeFile, fn, perRequest] = process.argv.slice(2);
const n = Number(perRequest);
if (!outFile || !codeFile || !fn || !(n > 0)) {
  console.error('usage: node annotate-jit.mjs CALLGRIND_OUT PRINT_OPT_CODE_OUTPUT FUNCTION REQUESTS');
  process.exit(2);
}

// The function's last printed code: its start address and its lines.
const code = readFileSync(codeFile, 'latin1').split('\n');
let lines = [];
for (let i = 0; i < code.length; i++) {
  if (code[i] !== `name = ${fn}`) continue;
  const body = [];
  let j = i + 1;
  while (j < code.length && !code[j].startsWith('Instructions (size')) j++;
  for (j++; j < code.length && !/^(Inlined functions|Safepoints|RelocInfo|--- End code)/.test(code[j]); j++)
    body.push(code[j]);
  lines = body;
}
const first = lines.map((l) => /^0x([0-9a-f]+)\s/.exec(l)).find(Boolean);
if (!first) {
  console.error(`no optimized code named ${fn} in ${codeFile}`);
  process.exit(1);
}
const start = BigInt(`0x${first[1]}`);

// callgrind's cost lines, with `positions: instr line`: an address (absolute 0x…, or +/- relative to
// the last one, or * for the same) and a line, then the cost. A `calls=` line makes the next cost
// line a call's inclusive cost. The function is found by its address, named or compressed `(id)`.
const costs = new Map();
const calls = new Map();
let inFn = false;
let pos = 0n;
let callNext = false;
const ids = new Map();
for (const l of readFileSync(outFile, 'latin1').split('\n')) {
  const named = /^(c?fn)=\((\d+)\)(?: (.*))?$/.exec(l);
  if (named) {
    if (named[3] !== undefined) ids.set(named[2], named[3]);
    if (named[1] === 'fn') {
      const name = ids.get(named[2]) ?? '';
      const hex = /^0x([0-9a-f]+)$/.exec(name);
      inFn = hex !== null && BigInt(`0x${hex[1]}`) === start;
      callNext = false;
    }
    continue;
  }
  if (!inFn) continue;
  if (l.startsWith('calls=')) {
    callNext = true;
    continue;
  }
  const m = /^(0x[0-9a-f]+|[+-]\d+|\*)\s+\S+\s+(\d+)/.exec(l);
  if (!m) continue;
  const p = m[1];
  if (p.startsWith('0x')) pos = BigInt(p);
  else if (p !== '*') pos += BigInt(p);
  const target = callNext ? calls : costs;
  target.set(pos, (target.get(pos) ?? 0) + Number(m[2]));
  callNext = false;
}

let total = 0;
for (const l of lines) {
  const m = /^0x([0-9a-f]+)\s/.exec(l);
  if (!m) {
    console.log(`          ${l}`);
    continue;
  }
  const a = BigInt(`0x${m[1]}`);
  const c = (costs.get(a) ?? 0) / n;
  total += c;
  const callee = calls.has(a) ? `   [callee ${((calls.get(a) ?? 0) / n).toFixed(0)}]` : '';
  console.log(`${c ? c.toFixed(2).padStart(8) : '        '}  ${l}${callee}`);
}
console.log(`\n${total.toFixed(0)} instructions per request in ${fn}'s own code`);
