// The image's entry point, bundled as CommonJS (copier.cjs): sizes libuv's thread pool for the run
// and sets the V8 flags it wants, then loads the copier itself (main.ts, bundled as the ES module
// copier.js).
//
// Why a CommonJS entry: libuv creates its thread pool at first use, with as many threads as
// UV_THREADPOOL_SIZE says at that moment, and Node reads an ES module entry through that pool, so
// code in an ES module runs too late to size it. A restore on a network file system keeps 64 and
// more files in flight as asynchronous calls, one pool thread each: with the pool sized too late
// (4 threads) 2,000 files on latfs took 7.0 s instead of 2.3 s (docs/performance.md).
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { loadCopierConfig } from './config.ts';
import { threadPoolSizeFor, v8FlagsFor } from './plan/io-plan.ts';
import { parseSummary, SUMMARY_FILE } from './manifest/entries.ts';

/** The backup's file count from its summary.json, if it can be read (else the restore, which reads
 * it again, reports why). */
function backupFiles(backupRoot: string): number | undefined {
  try {
    return parseSummary(readFileSync(`${backupRoot}/${SUMMARY_FILE}`, 'utf8')).files;
  } catch {
    return undefined;
  }
}

/** The copier's ES module, beside this file in the bundle (cdk/copier-bundle.ts defines it). */
declare const COPIER_MAIN_MODULE: string;

try {
  const config = loadCopierConfig(process.env);
  process.env.UV_THREADPOOL_SIZE ??= String(threadPoolSizeFor(config));
  // before any of the copier's code is compiled (io-plan.ts v8FlagsFor says why)
  // (only a restore's source is a backup: a backup's is a tenant's share, where nothing is ours to read)
  for (const flag of v8FlagsFor(config, config.mode === 'restore' ? backupFiles(config.source) : undefined)) setFlagsFromString(flag);
} catch {
  // a bad configuration: main.ts reports it in its own words
}
void import(COPIER_MAIN_MODULE);
