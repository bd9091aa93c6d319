// The resume scout: a worker thread that looks ahead of a re-run's main thread.
//
// A restore re-run over a tree mostly in place (a retried or redriven step, a second restore onto
// the same share) is bound, on a local disk, by the main thread: it parses and checks every line
// and makes one lstat per file (~8–11 µs each from Node here, most of its time). The scout takes
// the back part of the manifest on another core: it parses those lines, asks the question the
// main thread would (copy-jobs.ts alreadyRestored: for a file, only where size and mtime may be
// trusted, ScoutInit.trustFilesBelow) and records in shared memory, in order, the byte
// offset of every line it found in place (with its size). When the main thread reaches such a line
// it counts the entry as unchanged without parsing it or looking: the scout parsed and validated
// it. Only while this run has created, replaced or removed no directory, though: the scout's lstat
// follows the path's directories as they were, and a directory the main thread has since replaced
// (a symlink where the backup has a directory) holds nothing of the backup yet. After that, the
// main thread parses every line and checks its directories as before, and a line the scout found
// still saves it the lstat. That is all the scout does: it writes nothing, and a line it did not
// reach (or found otherwise, or could not read) the main thread handles as before. It stops once
// the main thread passes it.
import type { Worker } from 'node:worker_threads';
import { startWorker } from './worker-source.ts';

export interface ScoutInit {
  manifestPath: string;
  /** byte offset it starts at (the line there is skipped: it may begin before) */
  fromByte: number;
  targetRoot: string;
  chown: boolean;
  /** files on lines before this byte offset may be settled by size and mtime (copy-jobs.ts
   * alreadyRestored: the size-mtime opt-in, Infinity; else the restore's checkpoint,
   * restore/checkpoint.ts); files after it are left to the main thread, whose workers read them */
  trustFilesBelow: number;
  /** Float64Array: byte offsets of the lines found in place, ascending */
  found: SharedArrayBuffer;
  /** Float64Array: beside each, the file's size, or -1 for a symlink */
  foundSizes: SharedArrayBuffer;
  /** Int32Array [offsets written to `found`] */
  written: SharedArrayBuffer;
  /** Float64Array [byte offset of the line the main thread is at] */
  mainAt: SharedArrayBuffer;
  /** Int32Array [non-zero once the run stops] */
  stopBuffer: SharedArrayBuffer;
}

/** Where in the manifest the scout starts. It parses and looks at the back half while the main
 * thread does the front half and only counts the lines found (~17 µs a line against ~0.5 here; the
 * scout also starts ~0.1 s late). Measured on 50,000 files in place, six runs each, median copy
 * phase: from 0.4 of the way, 0.86 s; 0.5, 0.73 s; 0.55, 0.79 s; no scout, 1.1 s. */
const SCOUT_FROM = 0.5;
/** The byte offset a scout of a manifest of `manifestBytes` starts at: a scout is worth starting
 * only where files after it may be trusted by size and mtime (a file whose content must be read is a
 * copy worker's job, and the scout would find nothing but symlinks). */
export function scoutFromByte(manifestBytes: number): number {
  return Math.floor(manifestBytes * SCOUT_FROM);
}

/** Lines the scout can record at most (16 bytes each): 1,000,000 lines in place, 16 MB. */
const SCOUT_MAX_FOUND = 1_000_000;

export class ResumeScout {
  private readonly found: Float64Array;
  private readonly foundSizes: Float64Array;
  private readonly written: Int32Array;
  private readonly mainAt: Float64Array;
  private readonly worker: Worker;
  /** settles when the scout's thread has ended (it ends by itself at the manifest's end) */
  readonly finished: Promise<void>;
  /** the next of `found` the main thread has not passed */
  private next = 0;
  /** offsets before it are not the scout's */
  readonly fromByte: number;

  constructor(options: { manifestPath: string; manifestBytes: number; entries: number; targetRoot: string; chown: boolean; trustFilesBelow: number; stopFlag: Int32Array }) {
    this.fromByte = scoutFromByte(options.manifestBytes);
    const capacity = Math.min(SCOUT_MAX_FOUND, options.entries);
    const init: ScoutInit = {
      manifestPath: options.manifestPath, fromByte: this.fromByte, targetRoot: options.targetRoot, chown: options.chown, trustFilesBelow: options.trustFilesBelow,
      found: new SharedArrayBuffer(8 * capacity), foundSizes: new SharedArrayBuffer(8 * capacity), written: new SharedArrayBuffer(4), mainAt: new SharedArrayBuffer(8),
      stopBuffer: options.stopFlag.buffer as SharedArrayBuffer,
    };
    this.found = new Float64Array(init.found);
    this.foundSizes = new Float64Array(init.foundSizes);
    this.written = new Int32Array(init.written);
    this.mainAt = new Float64Array(init.mainAt);
    this.worker = startWorker('scout-worker', { workerData: init });
    // a scout that fails is only a hint lost: the main thread looks at every line itself
    this.finished = new Promise((resolve) => {
      this.worker.on('error', () => resolve());
      this.worker.on('exit', () => resolve());
    });
  }

  /** The main thread is at the line beginning at `offset` (the scout stops when passed). */
  at(offset: number): void {
    this.mainAt[0] = offset;
  }

  /** Whether the scout found the line beginning at `offset` in place. Asked in ascending order. */
  foundInPlace(offset: number): boolean {
    if (offset < this.fromByte) return false;
    const written = Atomics.load(this.written, 0);
    while (this.next < written && this.found[this.next]! < offset) this.next += 1;
    return this.next < written && this.found[this.next] === offset;
  }

  /** After foundInPlace said true: the file's size, or undefined for a symlink. */
  get foundSize(): number | undefined {
    const size = this.foundSizes[this.next]!;
    return size < 0 ? undefined : size;
  }

  /** How many lines the scout found in place. */
  get foundCount(): number {
    return Atomics.load(this.written, 0);
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
