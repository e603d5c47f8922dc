// The bench report: ratios taken per rep (both sides measured in that rep), their median
// with min and max, and the targets --check fails on.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { missedTargets, perRep, ratioStat, type BenchResult, type Sample } from '../../../src/bench/report.js';

const s = (subject: string, rep: number, value: number): Sample => ({ metric: 'converge time', subject, rep, value, unit: 's' });

test('per-rep ratios pair each rep with itself; a rep missing one side is left out', () => {
  const samples = [s('BIRD', 0, 1), s('Tabby', 0, 2), s('BIRD', 1, 3), s('Tabby', 1, 1), s('BIRD', 2, 5)];
  assert.deepEqual(perRep(samples, 'converge time', 'BIRD', 'Tabby'), [0.5, 3]);
  assert.deepEqual(ratioStat([0.5, 3, 1]), { median: 1, min: 0.5, max: 3, reps: [0.5, 3, 1] });
});

test('--check: every ratio below its target, and every target not measured, is named with how short it is', () => {
  const r = { ratios: { a: 0.8, b: 1.2 }, targets: { a: 1, b: 1, c: 2 } } as unknown as BenchResult;
  assert.deepEqual(missedTargets(r), ['a: 0.80 < 1 (short by 20%)', 'c: not measured (target >= 2)']);
  assert.deepEqual(missedTargets({ ratios: { a: 1 }, targets: { a: 1 } } as unknown as BenchResult), []);
});
