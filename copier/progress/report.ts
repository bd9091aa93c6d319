// The per-entry report of a backup or restore: what it could not keep, or had to resolve, one entry
// per path and aspect (docs/user-guide.md, "Reports"). Nothing is lost silently: each report entry
// also counts as a warning on the run's record (RunResult.warnings, the progress record's
// `warnings`), and the whole report is readable through the API.
//
// Paths are manifest paths. A name whose bytes are not UTF-8 is carried losslessly as a JS string
// with each undecodable byte as a lone surrogate U+DC80..U+DCFF (paths.ts), which JSON writes as
// a `\udcXX` escape.

/** What happened to the entry (or one aspect of it). */
export type ReportAction =
  /** the entry is not in the result at all (e.g. a device node a tenant share cannot hold) */
  | 'skipped'
  /** the entry is there, but an aspect of it is not (xattrs on a file system without them, …) */
  | 'not-kept'
  /** the target's own entry was in the way (another type) and was renamed, not deleted */
  | 'moved-aside'
  /** the target's entry differed from the backup (content, type) and was rewritten */
  | 'repaired';

export interface ReportEntry {
  /** manifest path of the entry */
  path: string;
  /** the aspect: 'entry', 'content', 'xattrs', 'acl', 'owner', 'mode', 'mtime', 'sparseness', … */
  what: string;
  action: ReportAction;
  /** one sentence, with the values (and the errno code where one caused it) */
  why: string;
  /** moved-aside: the manifest path the target's entry now has */
  moved_to?: string;
}

/** Where report entries go (DynamoDB on AWS and locally, memory in tests). Best effort per entry,
 * like progress; the count on the record is exact. */
export interface ReportSink {
  add(entry: ReportEntry): void;
  /** flush what is buffered; called once at the end of the run, success or failure */
  close(): Promise<void>;
}

/** A sink that keeps the entries in memory (tests, bench). */
export class MemoryReportSink implements ReportSink {
  readonly entries: ReportEntry[] = [];
  add(entry: ReportEntry): void {
    this.entries.push(entry);
  }
  async close(): Promise<void> {}
}
