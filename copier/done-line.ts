// The copier's last line on success: one JSON object on stderr, as a failure's {"error","reason"}
// is. On AWS the copier's log group turns it into metrics (cdk/monitoring.ts: bytes and copy time
// per restore and per backup, hence the throughput on the dashboard); locally it is a log line.
import type { RunResult } from './run.ts';

/** The fields the metric filters read: which run ended, how long it ran, what it copied. */
export const DONE_FIELDS = { mode: 'done', milliseconds: 'ms', bytes: 'bytes', files: 'files' } as const;

export function doneLine(mode: 'backup' | 'restore', milliseconds: number, result: RunResult): string {
  return JSON.stringify({ [DONE_FIELDS.mode]: mode, [DONE_FIELDS.milliseconds]: milliseconds, ...result });
}
