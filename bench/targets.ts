// The copier's performance targets (issue 5; docs/performance.md), judged from what one bench run
// measured: which hold, by how much, which do not. Pure, so that a unit test pins what each target
// means; bench/run.ts prints the rows after its tables and writes them into the results JSON. A
// target whose inputs this run did not measure (a set or a tool left out) is not listed: no row
// claims what was not run.

/** What the bench measured of one data set. */
export interface SetMeasures {
  /** median seconds of each tool's fresh restore or copy ('copier', 'cp -a', 'rsync -aH', 'xargs -P16 cp') */
  seconds: Record<string, number>;
  /** median seconds of the no-op re-runs, by cache state */
  noop: Partial<Record<'cold' | 'warm', { copier: number; rsync?: number }>>;
}

export interface BenchMeasures {
  /** the targets were on a network file system (latfs, EFS): the EFS-like targets apply, not the local ones */
  networkTarget: boolean;
  sets: Partial<Record<'small' | 'large' | 'mixed', SetMeasures>>;
  /** peak RSS of the restore of the large manifest, if measured */
  manifestRss?: { entries: number; peakRssMiB: number };
}

export interface TargetRow {
  target: string;
  /** what this run measured, in words and figures */
  measured: string;
  met: boolean;
}

/** The copier's speed-up over a tool: the tool's time over the copier's (files/s and MB/s ratios alike). */
function speedUp(set: SetMeasures, tool: string): number | undefined {
  const copier = set.seconds.copier;
  const other = set.seconds[tool];
  return copier === undefined || other === undefined ? undefined : other / copier;
}

export const PEAK_RSS_LIMIT_MIB = 200;

export function judgeTargets(measures: BenchMeasures): TargetRow[] {
  const rows: TargetRow[] = [];
  const versus = (setName: 'small' | 'large' | 'mixed', tool: string, atLeast: number, what: string) => {
    const set = measures.sets[setName];
    const ratio = set && speedUp(set, tool);
    if (!set || ratio === undefined) return;
    rows.push({
      target: `${what} ≥ ${atLeast}× ${tool}`,
      measured: `${ratio.toFixed(2)}× (copier ${set.seconds.copier!.toFixed(2)} s, ${tool} ${set.seconds[tool]!.toFixed(2)} s)`,
      met: ratio >= atLeast,
    });
  };
  if (measures.networkTarget) {
    versus('small', 'cp -a', 10, 'network file system, small: files/s');
    versus('small', 'xargs -P16 cp', 2, 'network file system, small: files/s');
  } else {
    versus('small', 'cp -a', 1, 'local small: files/s');
    versus('large', 'cp -a', 1, 'local large: MB/s');
    versus('mixed', 'cp -a', 1, 'local mixed: time');
  }
  for (const [name, set] of Object.entries(measures.sets)) {
    for (const cache of ['cold', 'warm'] as const) {
      const noop = set.noop[cache];
      if (noop?.rsync === undefined) continue;
      rows.push({
        target: `${name} no-op re-run (${cache}) no slower than rsync -aH's`,
        measured: `copier ${noop.copier.toFixed(2)} s, rsync -aH ${noop.rsync.toFixed(2)} s`,
        met: noop.copier <= noop.rsync,
      });
    }
  }
  if (measures.manifestRss) {
    rows.push({
      target: `peak RSS ≤ ${PEAK_RSS_LIMIT_MIB} MiB at ${measures.manifestRss.entries.toLocaleString('en-US')} entries`,
      measured: `${measures.manifestRss.peakRssMiB.toFixed(0)} MiB`,
      met: measures.manifestRss.peakRssMiB <= PEAK_RSS_LIMIT_MIB,
    });
  }
  return rows;
}

/** The rows as the Markdown table the bench prints. */
export function targetsTable(rows: TargetRow[]): string {
  return ['| target | this run | met |', '|---|---|---|', ...rows.map((row) => `| ${row.target} | ${row.measured} | ${row.met ? 'yes' : '**no**'} |`)].join('\n');
}
