import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { jitTuningWanted } from './jit-tuning.ts';

test('the inlining budget is raised unless the command line sets it or FOYER_JIT_TUNING=off', () => {
  assert.equal(jitTuningWanted([], {}), true);
  assert.equal(jitTuningWanted(['--enable-source-maps'], {}), true);
  assert.equal(jitTuningWanted(['--max-inlined-bytecode-size-cumulative=1200'], {}), false);
  assert.equal(jitTuningWanted(['--max_inlined_bytecode_size_cumulative=1200'], {}), false);
  assert.equal(jitTuningWanted([], { FOYER_JIT_TUNING: 'off' }), false);
});

test('this Node knows the flag: setting it prints nothing and leaves the process running', () => {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '-e', "import('./src/os/jit-tuning.ts').then((m) => console.log(m.tuneJit([], {})))"],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout.trim(), 'true');
});
