// manifest.jsonl and summary.json (docs/developer-reference.md, "The manifest"): one JSON object per
// line, parents before children. Lines are checked against a JSON schema (ajv) and their paths
// against paths.ts before the fs engine sees them.
import { ManifestError } from './errors.ts';
import { manifestPathComponents, pathsOverlap } from './paths.ts';

interface EntryBase {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  /** nanoseconds since the epoch, decimal */
  mtime_ns: string;
  size: number;
}
export interface DirEntry extends EntryBase { type: 'dir' }
export interface FileEntry extends EntryBase {
  type: 'file';
  sha256: string;
  /** CRC-32 of the content, 8 hex digits (checksum.ts); backups made before 0.3 have none */
  crc32?: string;
}
export interface SymlinkEntry extends EntryBase { type: 'symlink'; target: string }
export interface HardlinkEntry extends EntryBase { type: 'hardlink'; link_to: string }
export type ManifestEntry = DirEntry | FileEntry | SymlinkEntry | HardlinkEntry;

/** A parsed line with its path already split into validated components. */
export type ParsedEntry = ManifestEntry & { components: string[] };

export interface BackupSummary {
  version: 1;
  /** manifest lines */
  entries: number;
  /** `file` entries (hard links and symlinks carry no data of their own) */
  files: number;
  /** sum of the `file` entries' sizes */
  bytes: number;
  /** sha256 (hex) of manifest.jsonl as written. Optional: backups made before it was recorded lack
   * it, and a restore of those validates the whole manifest in a pass of its own first. */
  manifest_sha256?: string;
  created_at: string;
}

export const MANIFEST_FILE = 'manifest.jsonl';
export const SUMMARY_FILE = 'summary.json';
export const DATA_DIR = 'data';

// ajv's standalone output (manifest-schema.ts generates it): no ajv at run time
import { validateEntry as validateEntryGenerated, validateSummary as validateSummaryGenerated } from './manifest-validators.generated.js';

interface ValidationError {
  instancePath: string;
  message?: string;
}
interface Validator<T> {
  (value: unknown): value is T;
  errors?: ValidationError[] | null;
}
const validateEntry = validateEntryGenerated as Validator<ManifestEntry>;
const validateSummary = validateSummaryGenerated as Validator<BackupSummary>;

/**
 * One manifest line → a validated entry. `lineNumber` (1-based) goes into error messages. Throws
 * ManifestError for a malformed line and UnsafePathError for a path (or link_to) that could escape.
 */
export function parseManifestLine(line: string, lineNumber: number): ParsedEntry {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new ManifestError(`manifest line ${lineNumber} is not JSON: ${(error as Error).message}`);
  }
  if (!validateEntry(value)) {
    const first = validateEntry.errors?.[0];
    throw new ManifestError(`manifest line ${lineNumber} is not a valid entry: ${first ? `${first.instancePath || '/'} ${first.message ?? ''}` : 'unknown'}`.trim());
  }
  const components = manifestPathComponents(value.path);
  if (components.length === 0 && value.type !== 'dir') throw new ManifestError(`manifest line ${lineNumber}: the root "." must be a directory`);
  if (value.type === 'hardlink') {
    const linkTo = manifestPathComponents(value.link_to, 'link_to');
    if (linkTo.length === 0) throw new ManifestError(`manifest line ${lineNumber}: link_to cannot be the root`);
    if (pathsOverlap(value.link_to, value.path)) throw new ManifestError(`manifest line ${lineNumber}: a hard link to itself, or to a path above or under it`);
  }
  // (assigned, not spread into a new object: this runs for every line of a manifest of millions)
  const entry = value as ParsedEntry;
  entry.components = components;
  return entry;
}

/** One entry → its manifest line (no newline), keys in the documented order. */
export function serializeManifestEntry(entry: ManifestEntry): string {
  const base = { path: entry.path, type: entry.type, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime_ns: entry.mtime_ns, size: entry.size };
  switch (entry.type) {
    case 'dir':
      return JSON.stringify(base);
    case 'file':
      return JSON.stringify({ ...base, sha256: entry.sha256, ...(entry.crc32 === undefined ? {} : { crc32: entry.crc32 }) });
    case 'symlink':
      return JSON.stringify({ ...base, target: entry.target });
    case 'hardlink':
      return JSON.stringify({ ...base, link_to: entry.link_to });
  }
}

export function parseSummary(text: string): BackupSummary {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(`summary.json is not JSON: ${(error as Error).message}`);
  }
  if (!validateSummary(value)) {
    const first = validateSummary.errors?.[0];
    throw new ManifestError(`summary.json is not valid: ${first ? `${first.instancePath || '/'} ${first.message ?? ''}` : 'unknown'}`.trim());
  }
  return value;
}

/** Seconds since the epoch as fs.utimes takes them. Node hands utimes a double and libuv turns it
 * into a timespec by truncating `seconds * 1e6`, so the finest mtime Node can set is the
 * microsecond. We aim at the middle of the wanted microsecond so float error (a double's step is
 * ~0.24 µs for present-day times) can never truncate into the one below: the microsecond is exact,
 * the nanoseconds below it are lost (a documented limitation of a Node copier). */
export function nsToSeconds(mtimeNs: string | bigint): number {
  const micros = BigInt(mtimeNs) / 1000n;
  return (Number(micros) + 0.5) / 1e6;
}
