// The copier's programmatic API (tests, bench, the local facade); main.ts is the process entry point.
export { runBackup } from './backup/index.ts';
export { runRestore } from './restore/index.ts';
export { defaultConcurrency, type RunOptions, type RunResult } from './run.ts';
export { loadCopierConfig, type CopierConfig, type CopierMode } from './config.ts';
export { DynamoProgressSink, type DynamoProgressTargets } from './progress/dynamo-progress.ts';
export { ProgressReporter, percentOf, etaSeconds, type ProgressSink, type ProgressSnapshot, type Phase } from './progress/progress.ts';
export { parseManifestLine, serializeManifestEntry, parseSummary, MANIFEST_FILE, SUMMARY_FILE, DATA_DIR, type ManifestEntry, type BackupSummary } from './manifest/entries.ts';
export { manifestPathComponents } from './fs/paths.ts';
export * from './errors.ts';
