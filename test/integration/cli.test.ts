// The `share` CLI run as a user runs it (a child process) against the local stack: the newcomer's
// first restore done entirely with it, each error path (exit code, one sentence on stderr), the
// admin status resets, and --wait's progress: a live bar under a pseudo-terminal (`script`), plain
// lines in a pipe, and Ctrl-C that stops waiting but not the restore.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT, startStack, type TestStack } from './helpers/stack.ts';
import { backupShare, createShare, tenant, type Tenant } from './tenant.ts';
import { compareDirectories } from './helpers/trees.ts';

const MAIN = join(REPO_ROOT, 'cli', 'main.ts');

let stack: TestStack;
let memberToken: string;
let member: Tenant;

interface CliResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** The user's environment: only what the CLI documents, so nothing of the test runner leaks in. */
function cliEnv(token: string | undefined, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH, HOME: process.env.HOME, OS_SHARE_ENDPOINT: stack.apiUrl,
    ...(token === undefined ? {} : { OS_TOKEN: token }), ...extra,
  };
}

/** Runs `share <args>`; `onStderr` sees stderr as it comes (to act while a --wait is running). */
function share(args: string[], options: { token?: string | null; env?: Record<string, string>; onStderr?: (text: string, pid: number) => void } = {}): Promise<CliResult> {
  const token = options.token === null ? undefined : (options.token ?? memberToken);
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: REPO_ROOT, env: cliEnv(token, options.env) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8'); });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    options.onStderr?.(stderr, child.pid!);
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs the CLI and expects success; returns stdout. */
async function ok(args: string[], token?: string): Promise<string> {
  const result = await share(args, { token });
  expect(result.code, `share ${args.join(' ')}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

/** Runs the CLI and expects failure with exactly one line on stderr and nothing on stdout. */
async function fails(args: string[], options: Parameters<typeof share>[1] = {}): Promise<string> {
  const result = await share(args, options);
  expect(result.code, `share ${args.join(' ')} should fail; stdout: ${result.stdout}`).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
  return result.stderr.trim();
}

/** A port nothing listens on (it was free a moment ago). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  // one file at a time, so that restoring the large tree below takes a few seconds
  stack = await startStack({ env: { COPIER_CONCURRENCY: '1' } });
  memberToken = await stack.token('demo', ['member', 'reader']);
  member = tenant(stack.apiUrl, 'demo', memberToken);
});
afterAll(async () => { await stack?.stop(); });

describe('share CLI', () => {
  it("does the newcomer's first restore: create, back up, restore onto a second share by name, create from the backup", async () => {
    const src = JSON.parse(await ok(['create', 'NFS', '1', '--name', 'src', '-f', 'json']));
    expect(src).toMatchObject({ name: 'src', status: 'available', share_proto: 'NFS', size: 1 });
    const dir = (await ok(['export', 'location', 'list', 'src', '-c', 'Path', '-f', 'value'])).trim();
    expect(dir).toBe(src.export_locations[0].path);
    mkdirSync(join(dir, 'docs'));
    writeFileSync(join(dir, 'hello.txt'), 'hello\n');
    writeFileSync(join(dir, 'docs/notes.md'), '# notes\n'.repeat(100));

    const backupRun = await share(['backup', 'create', 'src', '--name', 'first', '--wait', '-f', 'json']);
    expect(backupRun.code, backupRun.stderr).toBe(0);
    const backup = JSON.parse(backupRun.stdout);
    expect(backup).toMatchObject({ name: 'first', share_id: src.id, status: 'available', progress: '100' });
    expect(backupRun.stderr).toContain(`backup ${backup.id}: available 100%`);
    // --wait ends with the warning count (the backup's own record has it, measured with what it holds)
    expect(backupRun.stderr).toContain(`backup ${backup.id}: 0 warnings.`);
    expect(backup).toMatchObject({ warnings: 0, files: 2 });

    const dstId = (await ok(['create', 'NFS', '1', '--name', 'dst', '-f', 'value', '-c', 'id'])).trim();
    const restoreRun = await share(['backup', 'restore', 'first', '--target-share', 'dst', '--wait', '-f', 'json']);
    expect(restoreRun.code, restoreRun.stderr).toBe(0);
    const restore = JSON.parse(restoreRun.stdout);
    expect(restore).toMatchObject({ backup_id: backup.id, share_id: dstId, source_share_id: src.id, status: 'succeeded', files_done: 2, files_total: 2 });
    expect(restoreRun.stderr).toMatch(new RegExp(`restore ${restore.id}: done 100%, 2/2 files`));
    expect(restoreRun.stderr).toContain(`restore ${restore.id}: 0 warnings.`);
    // the reports: empty here, with their count on stderr
    const backupReport = await share(['backup', 'report', 'first', '-f', 'json']);
    expect(backupReport.code, backupReport.stderr).toBe(0);
    expect(JSON.parse(backupReport.stdout)).toEqual([]);
    expect(backupReport.stderr).toContain('0 warnings, 0 listed.');
    expect(JSON.parse(await ok(['restore', 'report', restore.id, '-f', 'json']))).toEqual([]);
    const dst = parseYaml(await ok(['show', 'dst', '-f', 'yaml']));
    expect(dst.status).toBe('available');
    expect(await compareDirectories(dir, dst.export_locations[0].path)).toEqual([]);

    const copy = parseYaml(await ok(['create', 'NFS', '1', '--name', 'copy', '--backup-id', 'first', '--wait', '-f', 'yaml']));
    expect(copy).toMatchObject({ name: 'copy', status: 'available', source_backup_id: backup.id });
    expect(await compareDirectories(dir, copy.export_locations[0].path)).toEqual([]);

    // the lists, filtered by name or ID, and parsed back
    const [shareList, backupValues, restoreList, table] = await Promise.all([
      ok(['list', '-f', 'json']),
      ok(['backup', 'list', '--share', 'src', '-f', 'value', '-c', 'Name', '-c', 'Status']),
      ok(['restore', 'list', '--share', 'dst', '-f', 'json']),
      ok(['restore', 'show', restore.id]),
    ]);
    expect(JSON.parse(shareList).map((s: { Name: string }) => s.Name).sort()).toEqual(['copy', 'dst', 'src']);
    expect(backupValues).toBe('first available\n');
    expect(JSON.parse(restoreList)).toEqual([expect.objectContaining({ ID: restore.id, Status: 'succeeded', 'Share ID': dstId })]);
    expect(table).toMatch(/^\+-+\+-+\+\n\| Field +\| Value +\|/);
    expect(table).toMatch(new RegExp(`\\| status +\\| succeeded +\\|`));

    // set and unset, then the record says so
    expect(await ok(['backup', 'set', backup.id, '--description', 'before the upgrade'])).toBe('');
    expect(await ok(['backup', 'show', 'first', '-c', 'description', '-f', 'value'])).toBe('before the upgrade\n');
    await ok(['backup', 'unset', 'first', '--description']);
    await ok(['set', 'copy', '--name', 'copy-2']);
    expect(await ok(['backup', 'show', 'first', '-c', 'description', '-c', 'name', '-f', 'json'])).toBe('{\n  "description": null,\n  "name": "first"\n}\n');
    expect(await ok(['show', copy.id, '-c', 'name', '-f', 'value'])).toBe('copy-2\n');
    await ok(['delete', 'copy-2', '--wait']);
    expect(await fails(['show', 'copy-2'])).toBe("No share with a name or ID of 'copy-2' exists.");
  });

  it('fails with one sentence and a non-zero exit: unknown and ambiguous names, 403, 404, target too small, target below 2.91', async () => {
    const [twinA, twinB, big] = await Promise.all([
      createShare(member, { name: 'twin' }), createShare(member, { name: 'twin' }),
      createShare(member, { name: 'big', size: 2 }), createShare(member, { name: 'small', size: 1 }),
    ]);
    const bigBackup = await backupShare(member, big.id, { name: 'big-backup' });
    const stranger = tenant(stack.apiUrl, 'other', await stack.token('other', ['member', 'reader']));
    const strangersShare = await createShare(stranger, { name: 'theirs' });
    const reader = await stack.token('demo', ['reader']);
    const restoresBefore = (await member.get('/v2/share-restores')).json.share_restores.length;
    const unknownRestore = randomUUID();
    const closedPort = await freePort();

    const [unknown, ambiguous, forbiddenShow, forbiddenCreate, notFound, tooSmall, before291, noToken, unreachable] = await Promise.all([
      fails(['show', 'no-such-share']),
      fails(['backup', 'create', 'twin']),
      fails(['show', strangersShare.id]),
      fails(['create', 'NFS', '1'], { token: reader }),
      fails(['restore', 'show', unknownRestore]),
      fails(['backup', 'restore', 'big-backup', '--target-share', 'small', '--wait']),
      fails(['backup', 'restore', 'big-backup', '--target-share', 'small', '--os-share-api-version', '2.90']),
      fails(['list'], { token: null }),
      fails(['list'], { env: { OS_SHARE_ENDPOINT: `http://127.0.0.1:${closedPort}` } }),
    ]);
    expect(unknown).toBe("No share with a name or ID of 'no-such-share' exists.");
    expect(ambiguous).toBe(`More than one share exists with the name 'twin' (${[twinA.id, twinB.id].sort().join(', ')}); use an ID.`);
    expect(forbiddenShow).toMatch(/^[A-Z].*(another project|permission|not authorized|forbidden).*\.$/i);
    expect(forbiddenCreate).toMatch(/^[A-Z].*\.$/);
    expect(forbiddenCreate).toMatch(/not (permitted|allowed|authorized)|policy|role|may not/i);
    expect(notFound).toBe(`Restore ${unknownRestore} could not be found.`);
    expect(tooSmall).toBe('Share size 1 is too small to restore backup of size 2.');
    expect(before291).toBe('Restoring onto a target share (--target-share) is only available with API version >= 2.91; --os-share-api-version is 2.90.');
    expect(noToken).toMatch(/^No token given: pass --os-token or set OS_TOKEN/);
    expect(unreachable).toBe(`Could not reach the share service at http://127.0.0.1:${closedPort} (ECONNREFUSED); is it running (npm start) and is --os-endpoint right?`);
    // the refused restores started nothing
    expect((await member.get('/v2/share-restores')).json.share_restores).toHaveLength(restoresBefore);
    expect((await member.get(`/v2/share-backups/${bigBackup.id}`)).json.share_backup.status).toBe('available');

    // a usage error is exit code 2, with commander's message
    const usage = await share(['backup', 'restore']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("missing required argument 'backup'");
  });

  it('lets an admin reset statuses (share set / share backup set --status), and refuses a member', async () => {
    const admin = await stack.token('demo', ['admin', 'member', 'reader']);
    const shareRecord = await createShare(member, { name: 'stuck' });
    const backup = await backupShare(member, shareRecord.id, { name: 'stuck-backup' });
    await Promise.all([ok(['set', 'stuck', '--status', 'error'], admin), ok(['backup', 'set', 'stuck-backup', '--status', 'error'], admin)]);
    expect(await ok(['show', 'stuck', '-c', 'status', '-f', 'value'])).toBe('error\n');
    expect(await ok(['backup', 'show', backup.id, '-c', 'status', '-f', 'value'])).toBe('error\n');
    const refused = await fails(['set', 'stuck', '--status', 'available']);
    expect(refused).toMatch(/^[A-Z].*\.$/);
    await ok(['set', 'stuck', '--status', 'available'], admin);
    expect(await ok(['show', 'stuck', '-c', 'status', '-f', 'value'])).toBe('available\n');
  });

  it('--wait on a restore of a large tree: a live bar on a terminal, Ctrl-C stops only the waiting, show --wait resumes', async () => {
    const large = await createShare(member, { name: 'large' });
    const root = large.export_locations[0].path;
    // many small files: the copier's cost is per file, and it reports progress once a second,
    // so the copy must last well over a second for the bar to show it midway (8,000 files took
    // under a second once the copier verified with crc32 and started faster)
    const block = Buffer.alloc(512, 7);
    const dirs = 240;
    const files = dirs * 100;
    const size = `${((files * 512) / 1024 / 1024).toFixed(1).replace('.', '\\.')} MiB`;
    for (let d = 0; d < dirs; d++) {
      mkdirSync(join(root, `d${d}`));
      for (let f = 0; f < 100; f++) writeFileSync(join(root, `d${d}`, `f${f}.bin`), block);
    }
    // the loop above blocks this process for longer than the gateway keeps an idle connection
    // open on a busy machine; one turn of the event loop lets fetch's pool see the connections the
    // gateway closed meanwhile, instead of sending the next request on one ("other side closed")
    await new Promise((resolve) => setTimeout(resolve, 100));
    await backupShare(member, large.id, { name: 'large-backup' });
    const target = await createShare(member, { name: 'onto' });

    // a pseudo-terminal (util-linux `script`): cli-progress redraws one line; once the copy shows
    // progress, Ctrl-C is typed on the terminal
    const command = `${process.execPath} --import tsx ${MAIN} backup restore large-backup --target-share onto --wait`;
    const terminal = spawn('script', ['-qfec', command, '/dev/null'], { cwd: REPO_ROOT, env: cliEnv(memberToken) });
    let screen = '';
    let typedCtrlC = false;
    terminal.stdout.on('data', (chunk: Buffer) => {
      screen += chunk.toString('utf8');
      if (!typedCtrlC && new RegExp(`\\| copying \\| [1-9]\\d*/${files} files`).test(screen)) {
        typedCtrlC = true;
        terminal.stdin.write('\x03');
      }
    });
    const code = await new Promise<number | null>((resolve) => terminal.once('close', resolve));
    expect(typedCtrlC, screen).toBe(true);
    expect(code, screen).toBe(130);

    // cli-progress starts each redraw with "cursor to column 1"
    const frames = screen.split('\x1b[1G').filter((f) => f.includes('% |'));
    const percents = frames.map((f) => Number(/(\d+)% \|/.exec(f)![1]));
    expect(percents[0], screen).toBe(0);
    expect(Math.max(...percents), screen).toBeGreaterThan(0);
    expect(frames.at(-1)).toMatch(new RegExp(`█*░+ [1-9]\\d?% \\| copying \\| [1-9]\\d*/${files} files \\| [\\d.]+ (KiB|MiB)/${size} \\| (--|[\\d.]+ (B|KiB|MiB))/s \\| ETA \\d+s`));
    const restoreId = /restore ([0-9a-f-]{36}) /.exec(screen)![1]!;
    expect(screen).toContain(`Stopped waiting; restore ${restoreId} goes on. Resume waiting with: share restore show ${restoreId} --wait`);

    // the restore went on; waiting again (in a pipe: plain lines) sees it through
    const resumed = await share(['restore', 'show', restoreId, '--wait', '-f', 'json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ id: restoreId, share_id: target.id, status: 'succeeded', files_done: files });
    expect(resumed.stderr).toMatch(new RegExp(`restore ${restoreId}: done 100%, ${files}/${files} files, ${size}/${size}, .*ETA 0s\\nrestore ${restoreId}: 0 warnings\\.\\n$`));
    expect(await compareDirectories(root, target.export_locations[0].path)).toEqual([]);
  }, 180_000); // 24,000 files written, backed up and restored one at a time: ~55 s alone on two cores

  it('runs from a clone through the bin launcher (npx share)', async () => {
    const run = spawnSync('npx', ['--no-install', 'share', 'backup', 'restore', '--help'], { cwd: REPO_ROOT, env: cliEnv(memberToken), encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('Usage: share backup restore [options] <backup>');
    expect(run.stdout).toContain('$ share backup restore first --target-share dst --wait');
  });
});
