// The image's entry point, bundled as CommonJS (copier.cjs): sizes libuv's thread pool for the run,
// then loads the copier itself (main.ts, bundled as the ES module copier.js).
//
// Why a CommonJS entry: libuv creates its thread pool at first use, with as many threads as
// UV_THREADPOOL_SIZE says at that moment, and Node reads an ES module entry through that pool, so
// code in an ES module runs too late to size it. A restore on a network file system keeps 64 and
// more files in flight as asynchronous calls, one pool thread each: with the pool sized too late
// (4 threads) 2,000 files on latfs took 7.0 s instead of 2.3 s (docs/performance.md).
import { loadCopierConfig } from './config.ts';
import { threadPoolSizeFor } from './io-plan.ts';

/** The copier's ES module, beside this file in the bundle (cdk/copier-bundle.ts defines it). */
declare const COPIER_MAIN_MODULE: string;

try {
  process.env.UV_THREADPOOL_SIZE ??= String(threadPoolSizeFor(loadCopierConfig(process.env)));
} catch {
  // a bad configuration: main.ts reports it in its own words
}
void import(COPIER_MAIN_MODULE);
