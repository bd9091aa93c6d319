// The target's directories, kept safe to write into. Every directory an entry is written into must
// be a real directory in the target: either one this run created or checked (kept in `real`, one
// string per directory) or, failing that, one lstat says is a directory. What the target has of
// another type where the backup has a directory is moved aside (jobs/conflicts.ts), and what this
// run knew under a directory moved aside is forgotten.
import type { BigIntStats } from 'node:fs';
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { errnoCode, ManifestError, UnsafePathError } from '../errors.ts';
import type { FsPath } from '../fs/names.ts';
import { ancestorPaths, isSameOrUnder, parentPath, ROOT_PATH, underRoot } from '../fs/paths.ts';
import { moveAside } from '../jobs/conflicts.ts';
import { runSync } from '../jobs/syscalls.ts';
import type { ParsedEntry } from '../manifest/entries.ts';
import type { ReportEntry } from '../progress/report.ts';

export class TargetDirs {
  /** manifest paths known to be real directories in the target (created or checked by this run);
   * true when this run created it, so nothing of an earlier restore can be in it */
  private readonly real = new Map<string, boolean>([[ROOT_PATH, false]]);
  /** whether this run has created, replaced or removed a directory yet (until then a line the
   * resume scout found in place is counted without being parsed: workers/resume-scout.ts says why) */
  changed = false;

  /** `asideTag`: what names an entry moved aside (jobs/conflicts.ts); `chown`: the run restores
   * owners (it runs as root) */
  constructor(private readonly targetRoot: string, private readonly chown: boolean, private readonly asideTag: string, private readonly report: (entry: ReportEntry) => void) {}

  /** Whether `path` is a real directory this run created or checked. */
  has(path: string): boolean {
    return this.real.has(path);
  }

  /** Whether this run created `path`: nothing of an earlier restore can be in it. */
  createdByThisRun(path: string): boolean {
    return this.real.get(path) === true;
  }

  abs(path: string): FsPath {
    return underRoot(this.targetRoot, path);
  }

  /** Every ancestor of the entry must be a real directory of the target: never write through a
   * symlink. Directories this run created or checked are known; anything else is looked at. */
  checkParents(what: string, path: string, components: string[], ancestors?: string[]): void {
    if (this.real.has(parentPath(path))) return; // its ancestors were checked when it was
    for (const ancestor of ancestors ?? ancestorPaths(components)) {
      if (this.real.has(ancestor)) continue;
      const stats = lstatSync(this.abs(ancestor), { throwIfNoEntry: false });
      if (!stats) throw new ManifestError(`"${what}": its directory "${ancestor}" is not in the manifest before it`);
      if (!stats.isDirectory()) {
        throw new UnsafePathError(`"${what}": "${ancestor}" in the target is ${stats.isSymbolicLink() ? 'a symlink' : 'not a directory'}; refusing to write through it`);
      }
      this.real.set(ancestor, false);
    }
  }

  /** A directory at `path` moved aside: what this run knew under it is elsewhere now. */
  forgetUnder(path: string): void {
    this.changed = true;
    for (const dir of this.real.keys()) if (isSameOrUnder(path, dir) && dir !== ROOT_PATH) this.real.delete(dir);
  }

  /** Moves the target's entry at `path` (of another type than the backup's `backupHas`) aside, and
   * reports it (jobs/conflicts.ts); a directory's known subdirectories are forgotten. */
  moveAside(path: string, stats: BigIntStats, backupHas: string): void {
    this.report(runSync(moveAside(this.targetRoot, path, stats, this.asideTag, backupHas)));
    if (stats.isDirectory()) this.forgetUnder(path);
  }

  /** Makes (or checks, or makes room for) the directory of a `dir` entry other than the root. */
  restore(entry: ParsedEntry & { type: 'dir' }, ancestors: string[] | undefined): void {
    this.checkParents(entry.path, entry.path, entry.components, ancestors);
    const abs = this.abs(entry.path);
    if (this.real.get(parentPath(entry.path)) === true) {
      // in a directory this run created, the name is free (bar a duplicate manifest path): no lstat,
      // which on a network file system is a round trip
      try {
        mkdirSync(abs, 0o700);
        this.real.set(entry.path, true);
        return;
      } catch (error) {
        if (errnoCode(error) !== 'EEXIST') throw error;
      }
    }
    const stats = lstatSync(abs, { bigint: true, throwIfNoEntry: false });
    if (stats?.isDirectory()) {
      // without root, an existing directory must be writable by us to receive the backup's children
      const mode = Number(stats.mode & 0o7777n);
      if (!this.chown && (mode & 0o700) !== 0o700) chmodSync(abs, mode | 0o700);
      this.real.set(entry.path, false);
      return;
    }
    this.changed = true;
    if (stats) this.moveAside(entry.path, stats, 'a directory');
    mkdirSync(abs, 0o700);
    this.real.set(entry.path, true);
  }
}
