// The local runtime's data folder on a real disk: how full it is, and a failed write described so
// that a reader knows what to do (a full disk is the common case, and ENOSPC says little).
import { statfsSync } from 'node:fs';

/** Below this many free bytes the start banner warns: a backup of anything would fail. */
export const LOW_SPACE_BYTES = 64 * 1024 * 1024;

const ADVICE: Record<string, string> = {
  ENOSPC: 'no space left on device: free space in the data folder',
  EDQUOT: 'disk quota exceeded: free space in the data folder',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
};

/** "ENOSPC (no space left on device: ...)"-style text for a failed write; the message otherwise. */
export function describeWriteError(err: unknown): string {
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  if (code && ADVICE[code]) return `${code} (${ADVICE[code]})`;
  return err instanceof Error ? err.message : String(err);
}

/** Free bytes for an unprivileged writer on the file system holding path; undefined if unknown. */
export function freeBytes(path: string): number | undefined {
  try {
    const stats = statfsSync(path);
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
