// npm run bench [-- options]: the copier's restore against cp -a and rsync -a (and xargs -P16 cp
// with --latfs) on deterministic data sets, each tool into a fresh empty target, rounds alternating
// tool by tool so machine noise hits every tool alike. Every target tree is compared with its source;
// a difference fails the bench. The copier runs as the image runs it: the esbuild bundle of
// cdk/copier-bundle.ts under plain node. See docs/performance.md for the method and the numbers.
//
// Options: --scratch DIR (default /tmp/copier-bench), --source-dir DIR, --target-dir DIR (e.g. a
// latfs mount), --sets small,large,mixed, --rounds N, --quick (small sizes), --latfs (the small set
// only, of 2,000 files, and xargs -P16 cp), --small-files N, --large-files N, --large-mib N, --mixed-files N,
// --manifest-entries N (peak RSS of a restore of an N-entry manifest of empty files; 0 = skip),
// --keep (keep the scratch data), --tools copier,xargs (only these; the copier always runs),
// --settle S (wait S seconds after each drop of the caches; docs/performance.md, traps),
// --baseline REF (also run the copier of git commit REF, as tool "copier@<commit>", alternating
// with today's: the before/after of a change measured in one run; each restores a backup its own
// backup mode wrote, since the manifest's format may differ between them).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { bundleCopier, COPIER_ENTRY, COPIER_NODE_OPTIONS } from '../cdk/copier-bundle.ts';
import { runBackup } from '../copier/backup/index.ts';
import { DynamoProgressSink } from '../copier/progress/dynamo-progress.ts';
import { DynamoDbHttpClient } from '../copier/progress/dynamodb-http.ts';
import { fsx, xattrNames } from '../copier/fs/fsx.ts';
import { networkFileSystem } from '../copier/plan/io-plan.ts';
import { createTables, localDynamoDbClient, startDynamoDbLocal } from '../local/dynamodb-local.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/env.ts';
import { judgeTargets, PEAK_RSS_LIMIT_MIB, targetsTable, type BenchMeasures } from './targets.ts';

const repo = join(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    scratch: { type: 'string', default: '/tmp/copier-bench' },
    'source-dir': { type: 'string' },
    'target-dir': { type: 'string' },
    sets: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    latfs: { type: 'boolean', default: false },
    'small-files': { type: 'string' },
    'large-files': { type: 'string' },
    'large-mib': { type: 'string' },
    'mixed-files': { type: 'string' },
    'manifest-entries': { type: 'string' },
    keep: { type: 'boolean', default: false },
    tools: { type: 'string' },
    settle: { type: 'string', default: '0' },
    baseline: { type: 'string' },
  },
});
const num = (text: string | undefined, fallback: number) => (text === undefined ? fallback : Number(text));
const sizes = {
  small: num(args['small-files'], args.latfs ? 2000 : args.quick ? 5000 : 50_000),
  largeFiles: num(args['large-files'], args.quick ? 4 : 8),
  largeMiB: num(args['large-mib'], args.quick ? 64 : 256),
  mixed: num(args['mixed-files'], args.quick ? 2000 : 10_000),
  manifestEntries: num(args['manifest-entries'], args.quick || args.latfs ? 0 : 1_000_000),
};
const rounds = num(args.rounds, 3);
const sourceDir = args['source-dir'] ?? join(args.scratch, 'source');
const targetDir = args['target-dir'] ?? join(args.scratch, 'target');

/** A deterministic PRNG (mulberry32): the same data sets on every run. */
function prng(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(random: () => number, size: number): Buffer {
  const buffer = Buffer.allocUnsafe(size);
  for (let i = 0; i + 4 <= size; i += 4) buffer.writeUInt32LE(Math.floor(random() * 4294967296), i);
  for (let i = size - (size % 4); i < size; i++) buffer[i] = Math.floor(random() * 256);
  return buffer;
}

function writeFile(path: string, content: Buffer, mode = 0o644): void {
  const fd = openSync(path, 'w', mode);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
}

/** small: files of 1–16 KiB in a 3-level tree (≈ 50 files per leaf directory). */
function generateSmall(root: string, files: number): void {
  const random = prng(1);
  const fanout = Math.max(2, Math.ceil(Math.cbrt(files / 50)));
  for (let i = 0; i < files; i++) {
    const leaf = Math.floor(i / 50);
    const dir = join(root, `a${Math.floor(leaf / (fanout * fanout)) % fanout}`, `b${Math.floor(leaf / fanout) % fanout}`, `c${leaf % fanout}`);
    if (i % 50 === 0) mkdirSync(dir, { recursive: true });
    writeFile(join(dir, `f${i}.dat`), randomBytes(random, 1024 + Math.floor(random() * 15 * 1024)));
  }
}

function generateLarge(root: string, files: number, mib: number): void {
  const random = prng(2);
  mkdirSync(root, { recursive: true });
  const chunk = randomBytes(random, 16 * 1024 * 1024);
  for (let i = 0; i < files; i++) {
    const fd = openSync(join(root, `large${i}.bin`), 'w');
    for (let written = 0; written < mib * 1024 * 1024; written += chunk.length) {
      chunk.writeUInt32LE(i * 100_000 + written / chunk.length, 0); // no two chunks alike
      writeSync(fd, chunk, 0, Math.min(chunk.length, mib * 1024 * 1024 - written));
    }
    closeSync(fd);
  }
}

/** mixed: a realistic size mix (mostly small, some MiB-sized), symlinks, hard links, empty dirs,
 * odd modes, non-ASCII names. */
function generateMixed(root: string, files: number): void {
  const random = prng(3);
  const names = ['données', 'Grüße', '日本語', 'space name', 'emoji-😀', 'plain'];
  for (let i = 0; i < files; i++) {
    const dir = join(root, names[i % names.length]!, `d${Math.floor(i / 200)}`);
    if (i % 200 < names.length) mkdirSync(dir, { recursive: true });
    const roll = random();
    const size = roll < 0.6 ? Math.floor(random() * 4096) : roll < 0.95 ? 4096 + Math.floor(random() * 60_000) : roll < 0.995 ? 65_536 + Math.floor(random() * 2_000_000) : 4_000_000 + Math.floor(random() * 16_000_000);
    const path = join(dir, `${names[(i * 7) % names.length]}-${i}.bin`);
    writeFile(path, randomBytes(random, size), [0o644, 0o600, 0o755, 0o640, 0o4755, 0o444][i % 6]!);
    if (i % 50 === 0) execFileSync('ln', ['-s', `${names[(i * 7) % names.length]}-${i}.bin`, join(dir, `link-${i}`)]);
    if (i % 97 === 0) execFileSync('ln', [path, join(dir, `hard-${i}`)]);
    if (i % 300 === 0) mkdirSync(join(dir, `empty-${i}`), { mode: 0o711 });
  }
}

/** An entry's extended attributes (ACLs among them), sorted, as one string ('' for none, and on a
 * file system without them, e.g. a FUSE mount: the data sets have none). */
function xattrsOf(abs: string): string {
  const native = fsx();
  let list: Buffer;
  try {
    list = native.llistxattr(abs);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTSUP') return '';
    throw error;
  }
  return xattrNames(list).sort().map((name) => `${name}=${native.lgetxattr(abs, name).toString('base64')}`).join(',');
}

/** Paths, types, modes, mtimes (ns), sizes, symlink targets, hard-link groups, content hashes,
 * extended attributes and whether a file has holes (fewer blocks than its size needs). Without
 * `mtimes`, every mtime reads 0: the check of a baseline copier from before mtimes were kept to
 * the nanosecond. */
function digestTree(root: string, { mtimes = true } = {}): string[] {
  const lines: string[] = [];
  const inodes = new Map<bigint, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const abs = join(root, path);
      const stats = lstatSync(abs, { bigint: true });
      if (stats.isSymbolicLink()) {
        lines.push(`${path} link ${readlinkSync(abs)}`);
      } else if (stats.isDirectory()) {
        lines.push(`${path} dir ${stats.mode & 0o7777n} ${mtimes ? stats.mtimeNs : 0} ${xattrsOf(abs)}`);
        walk(path);
      } else {
        const first = stats.nlink > 1n ? inodes.get(stats.ino) : undefined;
        if (stats.nlink > 1n && !first) inodes.set(stats.ino, path);
        const content = createHash('sha256').update(readFileSync(abs)).digest('hex');
        const holes = stats.blocks * 512n < stats.size ? 'sparse' : '';
        lines.push(`${path} file ${stats.mode & 0o7777n} ${mtimes ? stats.mtimeNs : 0} ${stats.size} ${content} ${first ?? ''} ${xattrsOf(abs)} ${holes}`);
      }
    }
  };
  walk('');
  return lines;
}

function compareTrees(expected: string[], target: string, what: string, options: { mtimes?: boolean } = {}): void {
  const actual = digestTree(target, options);
  if (actual.length === expected.length && actual.every((line, i) => line === expected[i])) return;
  const missing = expected.filter((line) => !actual.includes(line)).slice(0, 5);
  const extra = actual.filter((line) => !expected.includes(line)).slice(0, 5);
  throw new Error(`${what}: the target differs from the source\n  missing: ${missing.join('\n           ')}\n  unexpected: ${extra.join('\n              ')}`);
}

interface Measure {
  seconds: number;
  peakRssMiB: number;
}

/** Runs a command under /usr/bin/time -v: wall time and peak RSS (the largest process's). */
function timed(command: string[], env: NodeJS.ProcessEnv = process.env): Promise<Measure> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-v', ...command], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) return reject(new Error(`${command.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      resolve({ seconds, peakRssMiB: rss ? Number(rss[1]) / 1024 : Number.NaN });
    });
  });
}

interface ToolRun {
  tool: string;
  round: number;
  seconds: number;
  peakRssMiB: number;
}

/** Limits the bench found exceeded; they fail it once its results are written. */
const failures: string[] = [];

/** The copier of another commit, bundled as its own cdk/copier-bundle.ts bundles it. */
interface BaselineCopier {
  tool: string;
  commit: string;
  bundle: string;
}

/**
 * Bundles the copier of git commit `ref`: a temporary worktree of that commit, with this
 * checkout's node_modules (a baseline whose dependencies differ may fail to build: say so), its
 * native addon built if it has one, then its own bundleCopier.
 */
function buildBaseline(ref: string): BaselineCopier {
  const commit = execFileSync('git', ['rev-parse', '--short', `${ref}^{commit}`], { cwd: repo, encoding: 'utf8' }).trim();
  const source = join(args.scratch, `baseline-${commit}-src`);
  const out = join(args.scratch, `baseline-${commit}-bundle`);
  rmSync(source, { recursive: true, force: true });
  execFileSync('git', ['worktree', 'add', '--detach', '--force', source, commit], { cwd: repo, stdio: 'ignore' });
  try {
    symlinkSync(join(repo, 'node_modules'), join(source, 'node_modules'));
    if (existsSync(join(source, 'native', 'build.mjs'))) execFileSync(process.execPath, ['native/build.mjs'], { cwd: source, stdio: 'inherit' });
    const bundler = pathToFileURL(join(source, 'cdk', 'copier-bundle.ts')).href;
    execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `const { bundleCopier } = await import(${JSON.stringify(bundler)}); await bundleCopier(${JSON.stringify(out)});`], { cwd: source, stdio: 'inherit' });
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', source], { cwd: repo });
  }
  return { tool: `copier@${commit}`, commit, bundle: join(out, COPIER_ENTRY) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

async function main(): Promise<void> {
  if (!existsSync('/usr/bin/rsync')) execFileSync('apt-get', ['install', '-y', 'rsync'], { stdio: 'inherit' });
  mkdirSync(sourceDir, { recursive: true });
  mkdirSync(targetDir, { recursive: true });
  // the page cache is dropped before each run when we may (root, not in a container that forbids it)
  // --settle: this VM hands the pages a drop frees back to its host, and a run that starts at once
  // gets the not-yet-handed-back ones first: waiting makes every tool start from the same state
  const settleMs = num(args.settle, 0) * 1000;
  const dropCaches = () => {
    spawnSync('sync');
    try {
      writeFileSync('/proc/sys/vm/drop_caches', '3');
      if (settleMs > 0) spawnSync('sleep', [String(settleMs / 1000)]);
      return true;
    } catch {
      return false;
    }
  };
  const cacheState = dropCaches() ? `cold (caches dropped before every run${settleMs > 0 ? `, then ${settleMs / 1000} s to settle` : ''})` : 'warm: /proc/sys/vm/drop_caches is not writable here, so sources are read from the page cache';

  // the copier runs as the Fargate image runs it: the esbuild bundle under plain node (no tsx)
  const bundleDir = join(args.scratch, 'bundle');
  await bundleCopier(bundleDir);
  const copierBundle = join(bundleDir, COPIER_ENTRY);
  const baseline = args.baseline ? buildBaseline(args.baseline) : undefined;

  const dynamo = await startDynamoDbLocal();
  const tables = { shares: 'bench-shares', backups: 'bench-backups', restores: 'bench-restores', reports: 'bench-reports', shareTypes: 'bench-share-types' };
  await createTables(dynamo.endpoint, tables);
  const dynamoClient = localDynamoDbClient(dynamo.endpoint);
  // the copier gets what its Fargate task has (the image's NODE_OPTIONS, the task's variables), not
  // this shell's environment: a host's own variables can cost it what a task does not pay
  // (NODE_EXTRA_CA_CERTS, set on this machine, makes every Node start parse ~140 certificates: ~40 ms)
  const copierEnv = {
    PATH: process.env.PATH, NODE_OPTIONS: COPIER_NODE_OPTIONS, AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
  };
  let restoreCount = 0;
  const putRestoreRecord = async (id: string) => {
    // the client's keep-alive socket can be closed by DynamoDB Local while a data set is generated
    for (let attempt = 1; ; attempt++) {
      try {
        return await dynamoClient.send(new PutItemCommand({ TableName: tables.restores, Item: { id: { S: id } } }));
      } catch (error) {
        if (attempt === 3) throw error;
      }
    }
  };
  // DynamoDB Local is a JVM that compiles its request paths at first use, on the two cores the copier
  // runs on (in AWS, DynamoDB is a remote service): the copier's own progress write is made a few
  // hundred times before anything is timed, so that no timed run pays for the engine's warm-up
  await putRestoreRecord('bench-warm-up');
  const warmUp = new DynamoProgressSink({ progress: { table: tables.restores, id: 'bench-warm-up' } }, new DynamoDbHttpClient(copierEnv));
  for (let i = 0; i < 300; i++) {
    await warmUp.write({ phase: 'copying', files_total: 300, files_done: i, bytes_total: 300, bytes_done: i, warnings: 0, eta_seconds: 300 - i, updated_at: new Date().toISOString(), percent: String(Math.floor(i / 3)) });
  }
  const copier = async (backup: string, target: string, extraEnv: Record<string, string> = {}, bundle = copierBundle) => {
    const id = `bench-${process.pid}-${restoreCount++}`;
    await putRestoreRecord(id);
    return await timed([process.execPath, bundle], {
      ...copierEnv, COPIER_MODE: 'restore', COPIER_SOURCE: backup, COPIER_TARGET: target, PROGRESS_TABLE: tables.restores, PROGRESS_ID: id, ...extraEnv,
    });
  };

  // Nothing is deleted until the end: this disk's ext4 does not reuse an inode freed less than a
  // minute ago, and creating files right after deleting many is far slower (performance-notes.md)
  const leftovers: string[] = [];
  const report: Record<string, unknown> = { date: new Date().toISOString(), cacheState, settleSeconds: settleMs / 1000, sizes, rounds, sourceDir, targetDir, sets: {} };
  const measures: BenchMeasures = { networkTarget: networkFileSystem(targetDir) !== undefined, sets: {} };
  // --sets none: only the manifest RSS measurement
  // --latfs measures the small set only unless told otherwise: xargs -P16 cp runs 16 separate cp
  // processes, which cannot keep the mixed set's hard links (the tree check fails on them)
  const setList = args.sets ?? (args.latfs ? 'small' : 'small,large,mixed');
  const sets = setList === 'none' ? [] : setList.split(',');
  try {
    for (const set of sets) {
      // named by their size, so a kept scratch folder never serves a data set of another size
      const setSize = set === 'small' ? `${sizes.small}` : set === 'large' ? `${sizes.largeFiles}x${sizes.largeMiB}m` : `${sizes.mixed}`;
      const share = join(sourceDir, `${set}-${setSize}-share`);
      const backup = join(sourceDir, `${set}-${setSize}-backup`);
      if (!existsSync(join(backup, 'summary.json'))) {
        console.log(`generating ${set} ...`);
        rmSync(share, { recursive: true, force: true });
        if (set === 'small') generateSmall(share, sizes.small);
        else if (set === 'large') generateLarge(share, sizes.largeFiles, sizes.largeMiB);
        else if (set === 'mixed') generateMixed(share, sizes.mixed);
        else throw new Error(`unknown set ${set}`);
        await runBackup({ source: share, target: backup });
        leftovers.push(share);
      }
      // the baseline restores a backup of the same share written by its own backup mode
      const baselineBackup = baseline && join(sourceDir, `${set}-${setSize}-backup-${baseline.commit}`);
      if (baseline && baselineBackup && !existsSync(join(baselineBackup, 'summary.json'))) {
        if (!existsSync(share)) throw new Error(`${share} is gone (a kept backup without its share): delete ${backup} so both are made again`);
        rmSync(baselineBackup, { recursive: true, force: true });
        const measure = await timed([process.execPath, baseline.bundle], { ...copierEnv, COPIER_MODE: 'backup', COPIER_SOURCE: share, COPIER_TARGET: baselineBackup });
        console.log(`  ${set}: backup by ${baseline.tool}: ${measure.seconds.toFixed(2)} s`);
      }
      const data = join(backup, 'data');
      const summary = JSON.parse(readFileSync(join(backup, 'summary.json'), 'utf8')) as { files: number; bytes: number; entries: number };
      const expected = digestTree(data);
      const expectedWithoutMtimes = baseline ? digestTree(data, { mtimes: false }) : expected;
      const tools: Record<string, (target: string) => Promise<Measure>> = {
        copier: (target) => copier(backup, target),
        ...(baseline && baselineBackup ? { [baseline.tool]: (target: string) => copier(baselineBackup, target, {}, baseline.bundle) } : {}),
        'cp -a': (target) => timed(['cp', '-a', `${data}/.`, target]),
        // -H: the data sets have hard links, which rsync -a alone would copy as separate files
        'rsync -aH': (target) => timed(['rsync', '-aH', `${data}/`, `${target}/`]),
      };
      if (args.latfs) {
        // a parallel cp as ../shared/tools/latfs/tests/pcp.sh runs it: directories first (rsync), files
        // by 16 cp -a processes of 50 files each, then directory mtimes (rsync again)
        tools['xargs -P16 cp'] = (target) => timed(['bash', '-c', `set -eo pipefail; rsync -a -f'+ */' -f'- *' "$1/" "$2/"; cd "$1"; find . ! -type d -print0 | xargs -0 -r -P16 -n50 cp -a --parents -t "$2"; rsync -a -f'+ */' -f'- *' "$1/" "$2/"`, 'pcp', data, target]);
      }
      // --tools copier,xargs: only the tools whose names start with one of these (quick iterations)
      if (args.tools) {
        const wanted = args.tools.split(',');
        for (const tool of Object.keys(tools)) if (tool !== 'copier' && !wanted.some((prefix) => tool.startsWith(prefix))) delete tools[tool];
      }
      const runs: ToolRun[] = [];
      const stamp = Date.now();
      /** the fresh target of one tool's run in one round */
      const targetOf = (tool: string, round: number) => join(targetDir, `${set}-${tool.replace(/\W+/g, '_')}-${stamp}-${round}`);
      for (let round = 0; round < rounds; round++) {
        for (const tool of Object.keys(tools)) {
          const target = targetOf(tool, round);
          mkdirSync(target);
          dropCaches();
          const measure = await tools[tool]!(target);
          // a baseline from before nanosecond mtimes is checked without them (and says so below)
          if (tool === baseline?.tool) compareTrees(expectedWithoutMtimes, target, `${set} / ${tool} / round ${round}`, { mtimes: false });
          else compareTrees(expected, target, `${set} / ${tool} / round ${round}`);
          runs.push({ tool, round, ...measure });
          console.log(`  ${set} round ${round} ${tool}: ${measure.seconds.toFixed(2)} s, ${measure.peakRssMiB.toFixed(0)} MiB`);
        }
      }
      // resume / no-op: the copier again onto its last target, rsync -a again onto its own. Each pass
      // twice: cold (caches dropped, as for the copies above, and as a retry's new Fargate task finds
      // its NFS client), then warm (repeated at once: the trees' metadata in the page cache)
      const noop: ToolRun[] = [];
      const noopName = (tool: string, cache: string) => `${tool} (no-op, ${cache})`;
      const last = rounds - 1;
      const noopPasses: Record<string, () => Promise<Measure>> = { copier: () => copier(backup, targetOf('copier', last)) };
      if (baseline && baselineBackup && tools[baseline.tool]) noopPasses[baseline.tool] = () => copier(baselineBackup, targetOf(baseline.tool, last), {}, baseline.bundle);
      if (tools['rsync -aH']) noopPasses['rsync -aH'] = () => timed(['rsync', '-aH', `${data}/`, `${targetOf('rsync -aH', last)}/`]);
      for (let round = 0; round < rounds; round++) {
        for (const [tool, pass] of Object.entries(noopPasses)) {
          dropCaches();
          noop.push({ tool: noopName(tool, 'cold'), round, ...(await pass()) });
          noop.push({ tool: noopName(tool, 'warm'), round, ...(await pass()) });
        }
        compareTrees(expected, targetOf('copier', last), `${set} / copier resume`);
      }
      const table = Object.keys(tools).map((tool) => {
        const mine = runs.filter((r) => r.tool === tool);
        const seconds = median(mine.map((r) => r.seconds));
        return { tool, seconds, filesPerSecond: summary.files / seconds, mbPerSecond: summary.bytes / 1e6 / seconds, peakRssMiB: Math.max(...mine.map((r) => r.peakRssMiB)) };
      });
      const copierSeconds = table[0]!.seconds;
      console.log(`\n${set}: ${summary.files} files, ${(summary.bytes / 1e6).toFixed(0)} MB, ${summary.entries} entries; median of ${rounds}; page cache ${cacheState}`);
      console.log('| tool | median s | files/s | MB/s | peak RSS MiB | copier speed-up |');
      console.log('|---|---|---|---|---|---|');
      for (const row of table) console.log(`| ${row.tool} | ${row.seconds.toFixed(2)} | ${row.filesPerSecond.toFixed(0)} | ${row.mbPerSecond.toFixed(0)} | ${row.peakRssMiB.toFixed(0)} | ${(row.seconds / copierSeconds).toFixed(2)}× |`);
      const noopMedian: Record<string, Record<string, number>> = {};
      for (const cache of ['cold', 'warm']) {
        const seconds = (tool: string) => median(noop.filter((r) => r.tool === noopName(tool, cache)).map((r) => r.seconds));
        const copierNoop = seconds('copier');
        const rsyncNoop = noopPasses['rsync -aH'] ? seconds('rsync -aH') : undefined;
        noopMedian[cache] = rsyncNoop === undefined ? { copier: copierNoop } : { copier: copierNoop, rsync: rsyncNoop };
        console.log(rsyncNoop === undefined
          ? `no-op re-run, ${cache}: copier ${copierNoop.toFixed(2)} s`
          : `no-op re-run, ${cache}: copier ${copierNoop.toFixed(2)} s, rsync -aH ${rsyncNoop.toFixed(2)} s (copier speed-up ${(rsyncNoop / copierNoop).toFixed(2)}×)`);
      }
      if (baseline) {
        const before = table.find((row) => row.tool === baseline.tool)?.seconds;
        if (before !== undefined) console.log(`copier against ${baseline.tool}: ${((copierSeconds / before - 1) * 100).toFixed(1)} % (median restore ${copierSeconds.toFixed(2)} s against ${before.toFixed(2)} s; ${baseline.tool}'s trees checked without mtimes)`);
        for (const cache of ['cold', 'warm']) {
          const seconds = (tool: string) => median(noop.filter((r) => r.tool === noopName(tool, cache)).map((r) => r.seconds));
          console.log(`no-op re-run, ${cache}: copier ${seconds('copier').toFixed(2)} s, ${baseline.tool} ${seconds(baseline.tool).toFixed(2)} s`);
        }
      }
      console.log('');
      (report.sets as Record<string, unknown>)[set] = { summary, runs, table, noop, noopMedian };
      measures.sets[set as keyof BenchMeasures['sets']] = { seconds: Object.fromEntries(table.map((row) => [row.tool, row.seconds])), noop: noopMedian };
      for (const run of runs) leftovers.push(targetOf(run.tool, run.round));
    }
    if (sizes.manifestEntries > 0) report.manifestRss = measures.manifestRss = await manifestRss(sizes.manifestEntries, copier);
  } finally {
    dynamoClient.destroy();
    await dynamo.stop();
    if (!args.keep) {
      for (const path of leftovers) rmSync(path, { recursive: true, force: true });
      rmSync(args.scratch, { recursive: true, force: true });
    }
  }
  // the performance targets, as this run measured them (informational: only the RSS limit fails
  // the bench, since a speed ratio on a shared VM moves from run to run; docs/performance.md)
  const targets = judgeTargets(measures);
  report.targets = targets;
  console.log(`\ntargets (docs/performance.md), as this run measured them, ${measures.networkTarget ? 'on a network file system' : 'on the local disk'}:\n${targetsTable(targets)}\n`);
  report.failures = failures;
  mkdirSync(join(repo, 'bench/results'), { recursive: true });
  const file = join(repo, 'bench/results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`results: ${file}`);
  if (failures.length > 0) throw new Error(`the bench failed: ${failures.join('; ')}`);
}

/** Peak RSS of a restore of an N-entry manifest (empty files, 1,000 per directory). */
async function manifestRss(entries: number, copier: (backup: string, target: string) => Promise<Measure>): Promise<Measure & { entries: number }> {
  const backup = join(sourceDir, `manifest-${entries}`);
  rmSync(backup, { recursive: true, force: true });
  mkdirSync(join(backup, 'data'), { recursive: true });
  const empty = createHash('sha256').digest('hex');
  const meta = '"mode":420,"uid":0,"gid":0,"mtime_ns":"1700000000000000000"';
  const manifest = openSync(join(backup, 'manifest.jsonl'), 'w');
  writeSync(manifest, `{"path":".","type":"dir",${meta},"size":0}\n`);
  let files = 0;
  let lines = 1;
  let buffered: string[] = [];
  for (let dir = 0; lines < entries; dir++) {
    mkdirSync(join(backup, 'data', `d${dir}`));
    buffered.push(`{"path":"d${dir}","type":"dir",${meta},"size":0}\n`);
    lines += 1;
    for (let i = 0; i < 999 && lines < entries; i++, lines++, files++) {
      closeSync(openSync(join(backup, 'data', `d${dir}`, `f${i}`), 'w'));
      buffered.push(`{"path":"d${dir}/f${i}","type":"file",${meta},"size":0,"sha256":"${empty}"}\n`);
    }
    writeSync(manifest, buffered.join(''));
    buffered = [];
  }
  closeSync(manifest);
  writeFileSync(join(backup, 'summary.json'), JSON.stringify({ version: 1, entries: lines, files, bytes: 0, created_at: new Date().toISOString() }));
  const target = join(targetDir, `manifest-${entries}-${Date.now()}`);
  mkdirSync(target);
  const measure = await copier(backup, target);
  console.log(`restore of a ${lines}-entry manifest: ${measure.seconds.toFixed(1)} s, peak RSS ${measure.peakRssMiB.toFixed(0)} MiB (limit ${PEAK_RSS_LIMIT_MIB})`);
  if (measure.peakRssMiB > PEAK_RSS_LIMIT_MIB) {
    // recorded, and the bench fails at the end, after its results are written
    console.log(`FAIL: peak RSS ${measure.peakRssMiB.toFixed(0)} MiB exceeds ${PEAK_RSS_LIMIT_MIB} MiB`);
    failures.push(`peak RSS ${measure.peakRssMiB.toFixed(0)} MiB at ${lines} entries exceeds ${PEAK_RSS_LIMIT_MIB} MiB`);
  }
  if (!args.keep) {
    rmSync(target, { recursive: true, force: true });
    rmSync(backup, { recursive: true, force: true });
  }
  return { entries: lines, ...measure };
}

await main();
