// Which manifest paths are in flight (queued in a batch, running in a worker, or a hard link being
// made), and by which holder. Two entries whose paths overlap (the same path, or one under the
// other) are never in flight together, so one entry cannot turn a directory another is writing into
// into a symlink. The restore asks for every entry while batches are out, so the question allocates
// nothing: a path → holder map, and per directory how many paths in flight lie under it.
// (backup/path-task-pool.ts keeps the same rule for the backup's promises, with a scan instead.)
import { isSameOrUnder, ROOT_PATH } from '../fs/paths.ts';

/** What holds paths in flight (a restore's batch): its paths and each one's ancestor paths, in
 * the order they were added. */
export interface PathHolder {
  paths: string[];
  ancestors: string[][];
}

export class InFlightPaths<T extends PathHolder> {
  /** paths in flight → their holder */
  private readonly holders = new Map<string, T>();
  /** directory → how many paths in flight lie under it */
  private readonly under = new Map<string, number>();

  /** how many paths are in flight */
  get size(): number {
    return this.holders.size;
  }

  /** `path` (whose ancestors are `ancestors`) is in flight in `holder` until the holder is released. */
  add(holder: T, path: string, ancestors: string[]): void {
    holder.paths.push(path);
    holder.ancestors.push(ancestors);
    this.holders.set(path, holder);
    for (const ancestor of ancestors) this.under.set(ancestor, (this.under.get(ancestor) ?? 0) + 1);
  }

  /** Every path of `holder` is no longer in flight (unless a later holder took it over). */
  release(holder: T): void {
    for (const [i, path] of holder.paths.entries()) {
      if (this.holders.get(path) === holder) this.holders.delete(path);
      for (const ancestor of holder.ancestors[i]!) {
        const count = this.under.get(ancestor)! - 1;
        if (count === 0) this.under.delete(ancestor);
        else this.under.set(ancestor, count);
      }
    }
  }

  /**
   * Whether a path in flight is at `path`, above it or under it. With `into`, every such path's
   * holder is added to it; without, the first one found answers (allocating nothing).
   */
  overlaps(path: string, ancestors: string[], into?: Set<T>): boolean {
    let found = false;
    const same = this.holders.get(path);
    if (same) {
      if (!into) return true;
      into.add(same);
      found = true;
    }
    if (path === ROOT_PATH ? this.holders.size > 0 : this.under.has(path)) {
      if (!into) return true;
      for (const [inFlightPath, holder] of this.holders) {
        if (isSameOrUnder(path, inFlightPath)) {
          into.add(holder);
          found = true;
        }
      }
    }
    for (const ancestor of ancestors) {
      const holder = this.holders.get(ancestor);
      if (!holder) continue;
      if (!into) return true;
      into.add(holder);
      found = true;
    }
    return found;
  }
}
