// npm run bench -- api [options]: the API Lambda's bundle as CDK builds it (cdk/api-bundle.ts, the
// same esbuild options), its size, and how long a fresh `node` takes to import it (the module-load
// part of a Lambda cold start: the handler module and everything it imports at top level). Each run
// is a new process with the Lambda's NODE_OPTIONS and a Lambda-like environment (not this shell's:
// NODE_EXTRA_CA_CERTS, set on this machine, alone costs ~40 ms at every Node start); one unmeasured
// run first warms the page cache; the median is reported. Not a test: timings on a shared machine
// move from run to run, so the figures to quote are medians with the load they were taken under.
//
// Options: --runs N (default 15), --outdir DIR (default /tmp/api-bench), --node-options "…" (default
// the Lambda's, API_NODE_OPTIONS), --top N (the N largest inputs of the bundle, by package; default 12).
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { API_BUNDLE_FILE, API_IMPORT_BUDGET_MS, API_NODE_OPTIONS, API_SIZE_BUDGET_BYTES, bundleApi } from '../cdk/api-bundle.ts';

const { values: args } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== 'api'),
  options: {
    runs: { type: 'string', default: '15' },
    outdir: { type: 'string', default: '/tmp/api-bench' },
    'node-options': { type: 'string', default: API_NODE_OPTIONS ?? '' },
    top: { type: 'string', default: '12' },
  },
});
const runs = Number(args.runs);
const outdir = resolve(args.outdir);
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;

const metafile = await bundleApi(outdir);
const bundle = join(outdir, API_BUNDLE_FILE);
const size = statSync(bundle).size;
const map = `${bundle}.map`;
const mapSize = existsSync(map) ? statSync(map).size : 0;

// bytes of the output by package (node_modules/<pkg> or <scope>/<pkg>; our own code as "(ours)")
const byPackage = new Map<string, number>();
for (const [input, { bytesInOutput }] of Object.entries(metafile.outputs[Object.keys(metafile.outputs).find((o) => o.endsWith(API_BUNDLE_FILE))!]!.inputs)) {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  const name = match ? match[1]! : '(ours)';
  byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
}

// the environment Lambda gives the function (values that matter to the modules' top level)
const env = {
  PATH: process.env.PATH,
  NODE_OPTIONS: args['node-options'],
  AWS_REGION: 'eu-west-1',
  AWS_LAMBDA_FUNCTION_NAME: 'share-backup-bench-api',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
  POWERTOOLS_SERVICE_NAME: 'share-backup-api',
};
const script = `const t = performance.now(); const m = await import(${JSON.stringify(pathToFileURL(bundle).href)});
if (typeof m.handler !== 'function') throw new Error('no handler export');
process.stdout.write(String(performance.now() - t));`;
const once = () => {
  const started = process.hrtime.bigint();
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (child.status !== 0) throw new Error(`importing ${bundle} failed (${child.status}): ${child.stderr}`);
  return { importMs: Number(child.stdout), wallMs };
};
once(); // page cache
const load = loadavg()[0]!;
const samples = Array.from({ length: runs }, once);
const imports = samples.map((s) => s.importMs);
const importMedian = median(imports);

console.log(`API bundle ${bundle}: ${kb(size)} minified${mapSize ? `, source map ${kb(mapSize)}` : ', no source map'}`);
console.log(`NODE_OPTIONS=${JSON.stringify(args['node-options'])}, ${runs} fresh processes, load average ${load.toFixed(1)} on ${process.platform} (${process.version})`);
console.log(`cold import: median ${importMedian.toFixed(0)} ms (min ${Math.min(...imports).toFixed(0)}, max ${Math.max(...imports).toFixed(0)}); whole process (node start + import): median ${median(samples.map((s) => s.wallMs)).toFixed(0)} ms`);
console.log('largest parts of the bundle:');
for (const [name, bytes] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top))) console.log(`  ${kb(bytes).padStart(9)}  ${name}`);
console.log(`| budget | this run | met |\n|---|---|---|`);
console.log(`| bundle ≤ ${kb(API_SIZE_BUDGET_BYTES)} | ${kb(size)} | ${size <= API_SIZE_BUDGET_BYTES ? 'yes' : '**no**'} |`);
console.log(`| cold import median ≤ ${API_IMPORT_BUDGET_MS} ms | ${importMedian.toFixed(0)} ms | ${importMedian <= API_IMPORT_BUDGET_MS ? 'yes' : '**no**'} |`);
