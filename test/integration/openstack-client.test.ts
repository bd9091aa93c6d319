// Issue 20: the real OpenStack client, unchanged, against the local stack. Debian's
// python3-openstackclient and python3-manilaclient (4.1.1: microversions up to 2.72; .ci/run
// installs them), pointed at the stack with a token and an endpoint, as an operator without
// Keystone would (`--os-auth-type admin_token`: bookworm's osc 6.0 no longer knows
// `token_endpoint`, its older name). Skipped, saying why, only when the `openstack` binary is absent.
import { spawnSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack } from './helpers/stack.ts';

const OPENSTACK = spawnSync('sh', ['-c', 'command -v openstack'], { encoding: 'utf8' }).stdout.trim();
/** the newest microversion Debian bookworm's manilaclient (4.1.1) speaks; from 2.69 it looks names up with is_soft_deleted too */
const CLIENT_VERSION = '2.72';

let stack: Awaited<ReturnType<typeof startStack>>;
let memberToken: string;
let adminToken: string;

/** Runs `openstack <args>` against the stack as the given project; resolves with its output, JSON-parsed when asked. */
function openstack(project: string, token: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  // the client's own environment (clouds.yaml, OS_*) must not point it elsewhere
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OS_')));
  const full = [
    '--os-auth-type', 'admin_token', '--os-endpoint', `${stack.apiUrl}/v2/${project}`, '--os-token', token,
    '--os-share-api-version', CLIENT_VERSION, ...args,
  ];
  return new Promise((resolve) => {
    const child = spawn(OPENSTACK, full, { env: { ...env, HOME: process.env.HOME ?? '/tmp' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function ok(project: string, token: string, args: string[]): Promise<string> {
  const res = await openstack(project, token, args);
  expect(res.code, `openstack ${args.join(' ')}\n${res.stderr}\n${res.stdout}`).toBe(0);
  return res.stdout;
}

const json = async (project: string, token: string, args: string[]) => JSON.parse(await ok(project, token, [...args, '-f', 'json']));

describe.skipIf(OPENSTACK === '')('the openstack client, unchanged (skipped: no `openstack` binary; apt-get install python3-openstackclient python3-manilaclient)', () => {
  beforeAll(async () => {
    stack = await startStack();
    memberToken = await stack.token('osc', ['member', 'reader']);
    adminToken = await stack.token('admin', ['admin', 'member', 'reader']);
  }, 120_000);
  afterAll(async () => { await stack?.stop(); });

  it('lists and shows share types', async () => {
    const types = await json('osc', memberToken, ['share', 'type', 'list']);
    expect(types.map((t: { Name: string }) => t.Name)).toEqual(['default']);
    const shown = await json('osc', memberToken, ['share', 'type', 'show', 'default']);
    expect(shown).toMatchObject({ name: 'default', is_default: true });
  }, 60_000);

  it('creates shares with and without --share-type, lists, shows, sets, unsets, resizes and deletes them by name and by id', async () => {
    const plain = await json('osc', memberToken, ['share', 'create', 'NFS', '1', '--name', 'osc-plain', '--wait']);
    expect(plain).toMatchObject({ name: 'osc-plain', share_type_name: 'default', status: 'available' });
    const typed = await json('osc', memberToken, ['share', 'create', 'NFS', '1', '--name', 'osc-typed', '--share-type', 'default', '--property', 'team=storage', '--wait']);
    expect(typed).toMatchObject({ name: 'osc-typed', share_type_name: 'default' });
    const listed = await json('osc', memberToken, ['share', 'list']);
    expect(listed.map((s: { Name: string }) => s.Name).sort()).toEqual(['osc-plain', 'osc-typed']);
    // by name: the client lists twice (plain and is_soft_deleted) and must find exactly one match
    const byName = await json('osc', memberToken, ['share', 'show', 'osc-typed']);
    expect(byName).toMatchObject({ id: typed.id });
    expect(byName.properties).toMatchObject({ team: 'storage' });
    const byId = await json('osc', memberToken, ['share', 'show', plain.id]);
    expect(byId).toMatchObject({ name: 'osc-plain' });
    const locations = await json('osc', memberToken, ['share', 'export', 'location', 'list', 'osc-plain']);
    expect(locations).toHaveLength(1);
    const locationId = locations[0].ID ?? locations[0].id;
    const location = await json('osc', memberToken, ['share', 'export', 'location', 'show', 'osc-plain', locationId]);
    expect(location).toMatchObject({ id: locationId });
    await ok('osc', memberToken, ['share', 'set', 'osc-plain', '--description', 'set by name', '--property', 'k=v']);
    await ok('osc', memberToken, ['share', 'set', typed.id, '--name', 'osc-renamed']);
    expect(await json('osc', memberToken, ['share', 'show', plain.id])).toMatchObject({ description: 'set by name' });
    expect(await json('osc', memberToken, ['share', 'show', typed.id])).toMatchObject({ name: 'osc-renamed' });
    await ok('osc', memberToken, ['share', 'unset', 'osc-plain', '--property', 'k']);
    expect((await json('osc', memberToken, ['share', 'show', plain.id])).properties).not.toHaveProperty('k');
    await ok('osc', memberToken, ['share', 'resize', 'osc-plain', '2', '--wait']);
    expect(await json('osc', memberToken, ['share', 'show', 'osc-plain'])).toMatchObject({ size: 2, status: 'available' });
    // an admin resets the task state (the client sends reset_task_state with the text given: "None"
    // is a 400 here as on Manila, whose schema takes Manila's states or JSON null); a member gets 403
    const refused = await openstack('osc', memberToken, ['share', 'set', plain.id, '--task-state', 'migration_error']);
    expect(refused.stderr).toContain('HTTP 403');
    await ok('admin', adminToken, ['share', 'set', plain.id, '--task-state', 'migration_error']);
    expect(await json('osc', memberToken, ['share', 'show', plain.id])).toMatchObject({ task_state: 'migration_error' });
    await ok('osc', memberToken, ['share', 'delete', 'osc-plain', '--wait']);
    await ok('osc', memberToken, ['share', 'delete', typed.id, '--wait']);
    expect(await json('osc', memberToken, ['share', 'list'])).toEqual([]);
  }, 240_000);
});
