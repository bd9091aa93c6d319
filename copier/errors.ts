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

/** The error name and reason main.ts reports for any thrown value; system errors (ENOSPC, EACCES,
 * ...) are reported as FileSystemError with their code in the reason. */
export function describeFailure(error: unknown): { error: string; reason: string; exitCode: number } {
  if (error instanceof CopierError) return { error: error.name, reason: error.message, exitCode: error.exitCode };
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return { error: 'FileSystemError', reason: error.message, exitCode: 1 };
    return { error: error.name || 'Error', reason: error.message, exitCode: 1 };
  }
  return { error: 'Error', reason: String(error), exitCode: 1 };
}

export function errnoCode(error: unknown): string | undefined {
  return error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
}
