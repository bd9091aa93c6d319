// The manifest is checked before anything is written (checkManifest: against its sha256 in
// summary.json, or for older backups by a pass that validates every line), then streamed once to
// copy; its counts are checked against summary.json again at the end (ManifestTally).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { errnoCode, ManifestError } from '../errors.ts';
import { ROOT_PATH } from '../fs/paths.ts';
import { MANIFEST_FILE, parseManifestLine, parseSummary, SUMMARY_FILE, type BackupSummary, type ParsedEntry } from '../manifest/entries.ts';
import { LineCursor, manifestLineChunks } from '../manifest/lines.ts';
import type { RunContext } from '../run.ts';

/** The backup's summary.json, parsed as the launcher parses it (launch.ts reads it too, for its file
 * count, before the copier's code is loaded). */
export async function readSummary(backupRoot: string): Promise<BackupSummary> {
  let text: string;
  try {
    text = await readFile(`${backupRoot}/${SUMMARY_FILE}`, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') throw new ManifestError(`${SUMMARY_FILE} is missing: the backup is incomplete`);
    throw error;
  }
  return parseSummary(text);
}

/** What a pass over the manifest counts, with the checks both passes make: the root first, and
 * the counts summary.json has. */
export class ManifestTally {
  entries = 0;
  files = 0;
  bytes = 0;

  add(entry: ParsedEntry): void {
    if (this.entries === 0 && entry.path !== ROOT_PATH) throw new ManifestError('the manifest does not start with the root "."');
    this.addLine(entry.type === 'file' ? entry.size : undefined);
  }

  /** A line (not the first) the resume scout parsed: a file of `size` bytes, or else (undefined). */
  addLine(size: number | undefined): void {
    this.entries += 1;
    if (size !== undefined) {
      this.files += 1;
      this.bytes += size;
    }
  }

  check(summary: BackupSummary): void {
    if (this.entries !== summary.entries || this.files !== summary.files || this.bytes !== summary.bytes) {
      throw new ManifestError(`the manifest (${this.entries} entries, ${this.files} files, ${this.bytes} bytes) does not match ${SUMMARY_FILE} (${summary.entries} entries, ${summary.files} files, ${summary.bytes} bytes)`);
    }
  }
}

/**
 * Before anything is written, the manifest must be the one the backup wrote. With the manifest's
 * sha256 in summary.json (every backup since 0.2), one hash of the file settles it, and its lines
 * are validated as they are copied (a line no backup writes would still fail the restore there,
 * never write outside the target). Without it, a pass of its own parses and validates every line
 * and checks the counts.
 */
export async function checkManifest(manifestPath: string, summary: BackupSummary, context: RunContext): Promise<void> {
  if (summary.manifest_sha256 !== undefined) {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(manifestPath, { highWaterMark: 1024 * 1024 })) {
      hash.update(chunk as Buffer);
      context.throwIfStopped();
    }
    const actual = hash.digest('hex');
    if (actual !== summary.manifest_sha256) throw new ManifestError(`${MANIFEST_FILE} does not match its sha256 in ${SUMMARY_FILE} (${actual}, expected ${summary.manifest_sha256}): the backup is damaged`);
    return;
  }
  const tally = new ManifestTally();
  let lineNumber = 0;
  for await (const chunk of manifestLineChunks(manifestPath)) {
    for (const line = new LineCursor(chunk); line.next();) tally.add(parseManifestLine(line.text(), ++lineNumber));
    context.throwIfStopped();
  }
  tally.check(summary);
}
