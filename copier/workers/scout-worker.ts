// The resume scout's thread (resume-scout.ts says what it is for): from a byte offset of the
// manifest on, each file or symlink line is parsed, validated and asked copy-jobs.ts
// alreadyRestored; the offsets of those in place go to shared memory, in order.
import { workerData } from 'node:worker_threads';
import { alreadyRestored, jobMetadataOf, type InPlaceQuestion } from '../jobs/copy-jobs.ts';
import { LineCursor, manifestLineChunks } from '../manifest/lines.ts';
import { parseManifestLine } from '../manifest/entries.ts';
import type { ScoutInit } from './resume-scout.ts';
import { runSync } from '../jobs/syscalls.ts';

const init = workerData as ScoutInit;
const found = new Float64Array(init.found);
const foundSizes = new Float64Array(init.foundSizes);
const written = new Int32Array(init.written);
const mainAt = new Float64Array(init.mainAt);
const stopFlag = new Int32Array(init.stopBuffer);
// a file is settled by looking only where it is trusted (init.trustFilesBelow): `trusted` below
const settings = { targetRoot: init.targetRoot, chown: init.chown, verifyExisting: 'checksum' as const };

async function scout(): Promise<void> {
  let count = 0;
  let skipFirst = init.fromByte > 0;
  for await (const chunk of manifestLineChunks(init.manifestPath, init.fromByte)) {
    for (const line = new LineCursor(chunk); line.next();) {
      if (skipFirst) {
        skipFirst = false;
        continue;
      }
      const at = line.offset;
      if (at <= mainAt[0]! || count === found.length || Atomics.load(stopFlag, 0) !== 0) return;
      // (a line number is not known here: a bad line ends the scouting, the main thread reports it)
      const entry = parseManifestLine(line.text(), 0);
      let question: InPlaceQuestion;
      if (entry.type === 'file') {
        if (at >= init.trustFilesBelow) continue;
        question = { kind: 'file', path: entry.path, size: entry.size, trusted: true, ...jobMetadataOf(entry) };
      }
      else if (entry.type === 'symlink') question = { kind: 'symlink', path: entry.path, linkTarget: entry.target, ...jobMetadataOf(entry) };
      else continue;
      if (runSync(alreadyRestored(question, settings))) {
        found[count] = at;
        foundSizes[count] = entry.type === 'file' ? entry.size : -1;
        count += 1;
        Atomics.store(written, 0, count);
      }
    }
  }
}

// (any failure only ends the hints: resume-scout.ts)
void scout().catch(() => undefined);
