// How the copier starts its copy worker threads (copy-worker.ts).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the worker module `name` (without extension) that lies beside this one. Bundled, it is a
 * JavaScript file next to this bundle. From source, a worker does not see a module loader
 * registered in its parent (tsx, vitest) on Node 20, so it starts from a line of CommonJS that
 * installs tsx's require hook and then loads the TypeScript.
 */
export function startWorker(name: string, options: Omit<WorkerOptions, 'eval'>): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, import.meta.url), options);
  const tsxRequireHook = createRequire(import.meta.url).resolve('tsx/cjs/api');
  const worker = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  return new Worker(`require(${JSON.stringify(tsxRequireHook)}).register(); require(${JSON.stringify(worker)});`, { ...options, eval: true });
}
