// A bounded pool of tasks keyed by manifest path. It limits the work in flight, keeps the first
// failure (after which no new task starts), and lets the caller wait until no task in flight touches
// a given path, its ancestors or its descendants, so that two entries of one tree (say a symlink
// "a" and a file "a/x") are never worked on at the same time.
import { pathsOverlap } from '../fs/paths.ts';

export class PathTaskPool {
  private readonly inFlight = new Map<string, Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(private readonly limit: number, private readonly onFailure: (error: unknown) => void = () => undefined) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`pool limit must be a positive integer, got ${limit}`);
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  get size(): number {
    return this.inFlight.size;
  }

  /** Resolves once no task in flight overlaps `path` (see paths.ts pathsOverlap). */
  async awaitOverlapping(path: string): Promise<void> {
    for (;;) {
      const overlapping = [...this.inFlight].filter(([key]) => pathsOverlap(key, path)).map(([, task]) => task);
      if (overlapping.length === 0) return;
      await Promise.all(overlapping);
    }
  }

  /**
   * Starts `work` for `path` once a slot is free and nothing in flight overlaps the path. Returns
   * when it has started (not when it ends); rethrows nothing: a task's failure is kept for drain().
   */
  async submit(path: string, work: () => Promise<void>): Promise<void> {
    while (this.inFlight.size >= this.limit) await Promise.race(this.inFlight.values());
    await this.awaitOverlapping(path);
    if (this.failure) return;
    const task = work().then(
      () => undefined,
      (error: unknown) => {
        if (!this.failure) {
          this.failure = { error };
          this.onFailure(error);
        }
      },
    ).finally(() => this.inFlight.delete(path));
    this.inFlight.set(path, task);
  }

  /** Waits for every task in flight, then throws the first failure, if any. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight.values());
    if (this.failure) throw this.failure.error;
  }
}
