// manifest.jsonl and summary.json (docs/developer-reference.md, "The manifest"): one JSON object per
// line, parents before children. Lines are checked against a JSON schema (ajv) and their paths
// against paths.ts before the fs engine sees them.
import { ManifestError } from '../errors.ts';
import { isCanonicalName } from '../fs/names.ts';
import { manifestPathComponents, pathsOverlap } from '../fs/paths.ts';

interface EntryBase {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  /** nanoseconds since the epoch, decimal */
  mtime_ns: string;
  size: number;
  /** extended attributes and POSIX ACLs, name → base64 value; absent when there are none (and in
   * backups made before 0.5) */
  xattrs?: Record<string, string>;
}
export interface DirEntry extends EntryBase { type: 'dir' }
export interface FileEntry extends EntryBase {
  type: 'file';
  sha256: string;
  /** CRC-32 of the content, 8 hex digits (checksum.ts); backups made before 0.3 have none */
  crc32?: string;
  /** the file had holes (fewer blocks allocated than its size needs); absent: it had none */
  sparse?: boolean;
}
export interface SymlinkEntry extends EntryBase { type: 'symlink'; target: string }
export interface HardlinkEntry extends EntryBase { type: 'hardlink'; link_to: string }
export interface FifoEntry extends EntryBase { type: 'fifo' }
export interface SocketEntry extends EntryBase { type: 'socket' }
export type ManifestEntry = DirEntry | FileEntry | SymlinkEntry | HardlinkEntry | FifoEntry | SocketEntry;

/** A parsed line with its path already split into validated components. */
export type ParsedEntry = ManifestEntry & { components: string[] };

export interface BackupSummary {
  /** 2 since 0.5 (schema.ts says what it adds); 1 is still restored */
  version: 1 | 2;
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

// ajv's standalone output (schema.ts generates it): no ajv at run time
import { validateEntry as validateEntryGenerated, validateSummary as validateSummaryGenerated } from './validators.generated.js';

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
  if (value.type === 'symlink' && !isCanonicalName(value.target)) throw new ManifestError(`manifest line ${lineNumber}: the symlink target is not the decoding of any bytes`);
  // (assigned, not spread into a new object: this runs for every line of a manifest of millions)
  const entry = value as ParsedEntry;
  entry.components = components;
  return entry;
}

/** One entry → its manifest line (no newline), keys in the documented order (xattrs last). Names
 * with escaped bytes (names.ts) come out as "\udcXX" escapes: the line is ASCII-safe JSON. */
export function serializeManifestEntry(entry: ManifestEntry): string {
  const base = { path: entry.path, type: entry.type, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime_ns: entry.mtime_ns, size: entry.size };
  const xattrs = entry.xattrs === undefined ? {} : { xattrs: entry.xattrs };
  switch (entry.type) {
    case 'dir':
    case 'fifo':
    case 'socket':
      return JSON.stringify({ ...base, ...xattrs });
    case 'file':
      return JSON.stringify({ ...base, sha256: entry.sha256, ...(entry.crc32 === undefined ? {} : { crc32: entry.crc32 }), ...(entry.sparse ? { sparse: true } : {}), ...xattrs });
    case 'symlink':
      return JSON.stringify({ ...base, target: entry.target, ...xattrs });
    case 'hardlink':
      return JSON.stringify({ ...base, link_to: entry.link_to, ...xattrs });
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
