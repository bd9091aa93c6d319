import { describe, expect, it } from 'vitest';
import { judgeTargets, targetsTable, type SetMeasures } from '../../bench/targets.ts';

const set = (seconds: Record<string, number>, noop: SetMeasures['noop'] = {}): SetMeasures => ({ seconds, noop });

describe('bench targets', () => {
  it('judges the local targets as the copier speed-up over cp -a, met at 1.0× and above', () => {
    const rows = judgeTargets({
      networkTarget: false,
      sets: { small: set({ copier: 4, 'cp -a': 4 }), large: set({ copier: 1, 'cp -a': 0.5 }), mixed: set({ copier: 2, 'cp -a': 2.2 }) },
    });
    expect(rows.map((row) => [row.target, row.met])).toEqual([
      ['local small: files/s ≥ 1× cp -a', true],
      ['local large: MB/s ≥ 1× cp -a', false],
      ['local mixed: time ≥ 1× cp -a', true],
    ]);
    expect(rows[1]!.measured).toBe('0.50× (copier 1.00 s, cp -a 0.50 s)');
  });

  it('on a network file system judges 10× cp -a and 2× xargs -P16 cp, and no local target', () => {
    const rows = judgeTargets({ networkTarget: true, sets: { small: set({ copier: 1.5, 'cp -a': 25, 'xargs -P16 cp': 2.9 }) } });
    expect(rows.map((row) => [row.target, row.met])).toEqual([
      ['network file system, small: files/s ≥ 10× cp -a', true],
      ['network file system, small: files/s ≥ 2× xargs -P16 cp', false],
    ]);
  });

  it('lists no row for what the run did not measure', () => {
    expect(judgeTargets({ networkTarget: false, sets: { small: set({ copier: 1 }, { cold: { copier: 1 } }) } })).toEqual([]);
  });

  it('judges each no-op pass against rsync, a tie counting as no slower, and the peak RSS limit', () => {
    const rows = judgeTargets({
      networkTarget: false,
      sets: { large: set({}, { cold: { copier: 0.2, rsync: 0.1 }, warm: { copier: 0.08, rsync: 0.08 } }) },
      manifestRss: { entries: 1_000_000, peakRssMiB: 201 },
    });
    expect(rows.map((row) => [row.target, row.met])).toEqual([
      ["large no-op re-run (cold) no slower than rsync -aH's", false],
      ["large no-op re-run (warm) no slower than rsync -aH's", true],
      ['peak RSS ≤ 200 MiB at 1,000,000 entries', false],
    ]);
    expect(targetsTable(rows).split('\n')).toEqual([
      '| target | this run | met |',
      '|---|---|---|',
      "| large no-op re-run (cold) no slower than rsync -aH's | copier 0.20 s, rsync -aH 0.10 s | **no** |",
      "| large no-op re-run (warm) no slower than rsync -aH's | copier 0.08 s, rsync -aH 0.08 s | yes |",
      '| peak RSS ≤ 200 MiB at 1,000,000 entries | 201 MiB | **no** |',
    ]);
  });
});
