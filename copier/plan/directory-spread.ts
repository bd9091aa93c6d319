// The order a copy worker starts its queued jobs in, when many are in flight (a network file
// system): round-robin over the directories they are in, not manifest order.
//
// Why: creating a name takes its directory's lock for the whole create, and on EFS or NFS that
// is a lookup and a create, two round trips (~3 ms on latfs at 500/2500 µs). A manifest lists a
// directory's files together, so 128 jobs started in manifest order sit in two or three
// directories and queue on their locks: a directory takes ~330 creates a second, whatever is in
// flight. Measured on latfs, 2,000 files in 40 directories, 128 in flight: a bare loop of Node's
// calls 1.50 s in manifest order, 0.86 s round-robin; the copier, where two cores are mostly busy
// with its CPU and the FUSE daemon's, 2.15–2.23 s against 2.32–2.43 s (four alternating pairs;
// docs/performance.md). Spreading the jobs a worker holds over their directories turns those few
// locks into as many as its batches span; on EFS, with no daemon on the task's cores, the locks
// weigh more.
//
// Only the start order changes: the main thread never lets two overlapping paths be in flight
// together (restore/in-flight-paths.ts), so the jobs a worker holds may run in any order.

interface DirectoryItems<T> {
  directory: string;
  items: T[];
  head: number;
}

/** Taken items a directory's queue keeps at most before it drops them (and at most as many as it
 * still holds). */
const COMPACT_FROM = 1024;

/** A FIFO queue per directory, taken round-robin: each shift takes the oldest item of the next
 * directory that has any, so items of one directory are never started two in a row while
 * another directory waits. */
export class DirectorySpreadQueue<T> {
  /** directories with items waiting, in turn order; each with its items, oldest first from `head` */
  private readonly turns: DirectoryItems<T>[] = [];
  private turn = 0;
  private readonly byDirectory = new Map<string, DirectoryItems<T>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(directory: string, item: T): void {
    let queue = this.byDirectory.get(directory);
    if (!queue) {
      queue = { directory, items: [], head: 0 };
      this.byDirectory.set(directory, queue);
      // a directory new to the queue takes its turn after every directory already waiting
      this.turns.splice(this.turn, 0, queue);
      this.turn += 1;
    }
    queue.items.push(item);
    this.count += 1;
  }

  /** The next item, or undefined when none waits. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    if (this.turn >= this.turns.length) this.turn = 0;
    const queue = this.turns[this.turn]!;
    const item = queue.items[queue.head]!;
    queue.head += 1;
    this.count -= 1;
    if (queue.head === queue.items.length) {
      this.turns.splice(this.turn, 1);
      this.byDirectory.delete(queue.directory);
    } else {
      // a directory that never runs dry (one of a million files, batch after batch) must not keep
      // every job it ever held: drop the taken ones once they are half the array
      if (queue.head >= COMPACT_FROM && 2 * queue.head >= queue.items.length) {
        queue.items.splice(0, queue.head);
        queue.head = 0;
      }
      this.turn += 1;
    }
    return item;
  }
}
