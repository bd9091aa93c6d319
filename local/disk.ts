// The local runtime's data folder on a real disk: how full it is, and a failed write described so
// that a reader knows what to do (a full disk is the common case, and ENOSPC says little).
import { existsSync, renameSync, rmSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Below this many free bytes the start banner warns: a backup of anything would fail. */
export const LOW_SPACE_BYTES = 8 * 1024 * 1024;

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

/** The file, in the data folder, that holds space back for the moment the disk fills. */
export const RESERVE_FILE = 'space-reserve';
export const RESERVE_BYTES = 16 * 1024 * 1024;
/** Below this many free bytes the disk counts as full and the reserve is given back. */
const FULL_BYTES = 1024 * 1024;
const CHECK_INTERVAL_MS = 1000;

/**
 * Space held back in the data folder for the moment a backup or restore fills the disk. DynamoDB
 * Local keeps its files in the same folder: on a full disk the workflow could not record the
 * failure (fail_reason, the share's and backup's status), and the operation would stay
 * "creating" for ever. When a write fails for lack of space, or the free space drops under 1 MiB,
 * the reserve is deleted, so the failure that follows can be written; it is taken again once
 * there is room for it twice over. A file of zeros written out, not a sparse one: a sparse file
 * would hold nothing back.
 */
export class SpaceReserve {
  private readonly file: string;
  private held = false;
  private timer: NodeJS.Timeout | undefined;
  private lastFailure: string | undefined;

  constructor(private readonly dataDir: string, private readonly log: (message: string) => void = (message) => console.error(message)) {
    this.file = join(dataDir, RESERVE_FILE);
  }

  /** Takes the reserve (if there is room) and watches the free space until stop(). */
  start(): void {
    this.held = existsSync(this.file) && statSync(this.file).size === RESERVE_BYTES;
    this.check();
    this.timer = setInterval(() => this.check(), CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** A write under the data folder failed: if for lack of space, give the reserve back now. */
  writeFailed(err: unknown): void {
    const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
    if (code === 'ENOSPC' || code === 'EDQUOT') this.release();
  }

  private check(): void {
    const free = freeBytes(this.dataDir);
    if (free === undefined) return;
    if (this.held && free < FULL_BYTES) this.release();
    else if (!this.held && free >= 2 * RESERVE_BYTES) this.take();
  }

  private release(): void {
    if (!this.held) return;
    try {
      rmSync(this.file, { force: true });
      this.held = false;
      this.log(
        `[local] the data folder's disk is full: released the ${formatBytes(RESERVE_BYTES)} held in ${this.file} so that ` +
          'the failed backup or restore can still be recorded. Free space there; the reserve is taken again when there is room.',
      );
    } catch (err) {
      this.log(`[local] could not release ${this.file}: ${describeWriteError(err)}`);
    }
  }

  private take(): void {
    const partial = `${this.file}.tmp`;
    try {
      writeFileSync(partial, Buffer.alloc(RESERVE_BYTES));
      renameSync(partial, this.file);
      this.held = true;
      this.lastFailure = undefined;
    } catch (err) {
      try { rmSync(partial, { force: true }); } catch { /* nothing to give back */ }
      const reason = describeWriteError(err);
      if (reason !== this.lastFailure) this.log(`[local] could not reserve ${formatBytes(RESERVE_BYTES)} in ${this.file}: ${reason}`);
      this.lastFailure = reason;
    }
  }
}
