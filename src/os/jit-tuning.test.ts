import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { jitTuningWanted } from './jit-tuning.ts';

test('the inlining budget is raised unless the command line sets it or FOYER_JIT_TUNING=off', () => {
  assert.equal(jitTuningWanted([], {}), true);
  assert.equal(jitTuningWanted(['--enable-source-maps'], {}), true);
  assert.equal(jitTuningWanted(['--max-inlined-bytecode-size-cumulative=1200'], {}), false);
  assert.equal(jitTuningWanted(['--max_inlined_bytecode_size_cumulative=1200'], {}), false);
  assert.equal(jitTuningWanted(['-max-inlined-bytecode-size-cumulative=1200'], {}), false);
  assert.equal(jitTuningWanted(['--max-inlined-bytecode-size=100'], {}), true);
  assert.equal(jitTuningWanted(['--freeze-flags-after-init'], {}), false);
  assert.equal(jitTuningWanted(['--freeze_flags_after_init'], {}), false);
  assert.equal(jitTuningWanted(['--no-freeze-flags-after-init'], {}), true);
  for (const off of ['off', 'OFF', '0', 'false']) assert.equal(jitTuningWanted([], { FOYER_JIT_TUNING: off }), false);
  assert.equal(jitTuningWanted([], { FOYER_JIT_TUNING: 'on' }), true);
});

test('this Node knows the flag: setting it prints nothing and leaves the process running', () => {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `import(${JSON.stringify(new URL('./jit-tuning.ts', import.meta.url).href)}).then((m) => console.log(m.tuneJit([], {})))`,
    ],
    { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout.trim(), 'true');
});
