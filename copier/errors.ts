// Failures the copier reports. Each has a stable `name` (the "error" field of the one JSON line
// main.ts prints on stderr) and an exit code, so the workflow can tell a bad configuration (2) or
// a stop request (143) from a failed copy (1).
export class CopierError extends Error {
  /** process exit code main.ts uses for this failure */
  readonly exitCode: number = 1;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The environment (or the options given to runBackup/runRestore) cannot be used. */
export class ConfigError extends CopierError {
  override readonly exitCode = 2;
}

/** A manifest path (or hard link target) that could reach outside the target, or a path that would
 * have to be written through a symlink or a non-directory. */
export class UnsafePathError extends CopierError {}

/** manifest.jsonl or summary.json cannot be parsed, or they disagree. */
export class ManifestError extends CopierError {}

/** A backup's data file does not have the size its manifest entry records. */
export class SizeMismatchError extends CopierError {}

/** What was written does not hash to the manifest's sha256. */
export class ChecksumMismatchError extends CopierError {}

/** COPIER_FAIL_AFTER_FILES: the test-only fault switch tripped. */
export class FaultInjectedError extends CopierError {}

/** SIGTERM (or the caller's abort signal) stopped the run. */
export class StoppedError extends CopierError {
  override readonly exitCode = 143;
}

/** The run's two roots, to say on which side a file system error happened. */
export interface FailureRoots {
  source: string;
  target: string;
}

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);

/**
 * "No space left" said with its side. The copier writes only under the target (the source is
 * mounted read-only: the backup for a restore, the share for a backup), so a full file system is
 * the target's unless the error names a path under the source. Writes through a file handle carry
 * no path at all; they are the target's too.
 */
function noSpaceReason(error: NodeJS.ErrnoException, roots: FailureRoots): string {
  const paths = [error.path, (error as { dest?: unknown }).dest].filter((p): p is string => typeof p === 'string');
  const under = (root: string) => paths.some((p) => p === root || p.startsWith(`${root.replace(/\/+$/, '')}/`));
  const side = under(roots.source) && !under(roots.target) ? `the source (${roots.source})` : `the target (${roots.target})`;
  return `No space left on ${side}: ${error.message}`;
}

/** The error name and reason main.ts reports for any thrown value; system errors (ENOSPC, EACCES,
 * ...) are reported as FileSystemError with their code in the reason, and with `roots`, a full
 * file system (ENOSPC, EDQUOT) says which side is full. */
export function describeFailure(error: unknown, roots?: FailureRoots): { error: string; reason: string; exitCode: number } {
  if (error instanceof CopierError) return { error: error.name, reason: error.message, exitCode: error.exitCode };
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && NO_SPACE.has(code) && roots) return { error: 'FileSystemError', reason: noSpaceReason(error, roots), exitCode: 1 };
    if (typeof code === 'string') return { error: 'FileSystemError', reason: error.message, exitCode: 1 };
    return { error: error.name || 'Error', reason: error.message, exitCode: 1 };
  }
  return { error: 'Error', reason: String(error), exitCode: 1 };
}

export function errnoCode(error: unknown): string | undefined {
  return error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
}
