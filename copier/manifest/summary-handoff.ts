// summary.json, read once per copier process. The launcher (launch.ts) reads it to size the run
// before the copier's code is loaded, and hands what it parsed to the restore; the two are separate
// bundles (copier.cjs, copier.js) that share no module, so the hand-over is a global under a
// registered symbol. Taken once: a second run in the same process (tests) reads the file again.
import type { BackupSummary } from './entries.ts';

const HANDOFF = Symbol.for('share-backup.copier.summary');

interface Handoff {
  /** the backup root as configured (COPIER_SOURCE) */
  source: string;
  summary: BackupSummary;
}

type WithHandoff = typeof globalThis & { [HANDOFF]?: Handoff };

/** The launcher: the summary of the backup at `source`, as it parsed it. */
export function handOverSummary(source: string, summary: BackupSummary): void {
  (globalThis as WithHandoff)[HANDOFF] = { source, summary };
}

/** The restore: the summary the launcher parsed for the backup at `source`, if it did. */
export function takeSummary(source: string): BackupSummary | undefined {
  const global = globalThis as WithHandoff;
  const handoff = global[HANDOFF];
  delete global[HANDOFF];
  return handoff?.source === source ? handoff.summary : undefined;
}
