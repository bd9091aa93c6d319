// Directory metadata (owner, xattrs, mode, mtime) is applied after everything under a directory was
// written, at the end of the copy, deepest level first: a parent's mode cannot lock the copier out
// of a child, and writing into a directory does not move its mtime after it was set.
import { jobMetadataOf, type DirMetadataJob } from '../jobs/copy-jobs.ts';
import type { ParsedEntry } from '../manifest/entries.ts';

interface DirRecord {
  path: string;
  depth: number;
  job: DirMetadataJob;
}

export class DirMetadata {
  private readonly dirs: DirRecord[] = [];

  add(entry: ParsedEntry & { type: 'dir' }): void {
    const job: DirMetadataJob = { kind: 'dir-metadata', path: entry.path, ...jobMetadataOf(entry) };
    this.dirs.push({ path: entry.path, depth: entry.components.length, job });
  }

  /** The jobs, one array a level, deepest first; only of the directories `stillOurs` keeps (one a
   * later entry replaced, or one under it, is no longer this run's to touch). */
  levels(stillOurs: (path: string) => boolean): DirMetadataJob[][] {
    const levels = new Map<number, DirMetadataJob[]>();
    for (const dir of this.dirs) {
      if (!stillOurs(dir.path)) continue;
      let level = levels.get(dir.depth);
      if (!level) levels.set(dir.depth, (level = []));
      level.push(dir.job);
    }
    return [...levels.keys()].sort((a, b) => b - a).map((depth) => levels.get(depth)!);
  }
}
