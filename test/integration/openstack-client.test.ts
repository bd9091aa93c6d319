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

  // every `share list` option of the client that needs no other service (--project and --user look
  // the ids up in Keystone; --snapshot, --share-network, --share-group and --share-server look up
  // resources this service does not have): manilaclient/osc/v2/share.py ListShare.take_action
  // turns each into the query the service must honour or refuse, never ignore
  it('lists shares with each filter the client sends: name, name~, description~, status, share type, property, extra spec, export location, soft-deleted, public, sort, limit, long, all projects, host', async () => {
    const names = (rows: { Name?: string; name?: string }[]) => rows.map((r) => r.Name ?? r.name).sort();
    const list = (token: string, project: string, args: string[]) => json(project, token, ['share', 'list', ...args]);
    const red = await json('osc', memberToken, ['share', 'create', 'NFS', '1', '--name', 'filter-red', '--description', 'a red share', '--property', 'colour=red', '--wait']);
    const blue = await json('osc', memberToken, ['share', 'create', 'NFS', '2', '--name', 'filter-blue', '--description', 'a blue share', '--property', 'colour=blue', '--wait']);
    const other = await json('other', await stack.token('other', ['member', 'reader']), ['share', 'create', 'NFS', '1', '--name', 'filter-other', '--wait']);
    expect(names(await list(memberToken, 'osc', []))).toEqual(['filter-blue', 'filter-red']);
    expect(names(await list(memberToken, 'osc', ['--name', 'filter-red']))).toEqual(['filter-red']);
    expect(names(await list(memberToken, 'osc', ['--name~', 'blu']))).toEqual(['filter-blue']);
    expect(names(await list(memberToken, 'osc', ['--description~', 'red sh']))).toEqual(['filter-red']);
    expect(names(await list(memberToken, 'osc', ['--status', 'available']))).toEqual(['filter-blue', 'filter-red']);
    expect(names(await list(memberToken, 'osc', ['--status', 'error']))).toEqual([]);
    expect(names(await list(memberToken, 'osc', ['--share-type', 'default']))).toEqual(['filter-blue', 'filter-red']);
    expect(names(await list(memberToken, 'osc', ['--property', 'colour=blue']))).toEqual(['filter-blue']);
    expect(names(await list(memberToken, 'osc', ['--extra-spec', 'driver_handles_share_servers=False']))).toEqual(['filter-blue', 'filter-red']);
    expect(names(await list(memberToken, 'osc', ['--extra-spec', 'driver_handles_share_servers=True']))).toEqual([]);
    const [location] = await json('osc', memberToken, ['share', 'export', 'location', 'list', red.id]);
    expect(names(await list(memberToken, 'osc', ['--export-location', location.ID ?? location.id]))).toEqual(['filter-red']);
    expect(names(await list(memberToken, 'osc', ['--export-location', location.Path ?? location.path]))).toEqual(['filter-red']);
    // no recycle bin: nothing is soft-deleted
    expect(await list(memberToken, 'osc', ['--soft-deleted'])).toEqual([]);
    // --public asks for "mine and the public ones"; no share is public here
    expect(names(await list(memberToken, 'osc', ['--public']))).toEqual(['filter-blue', 'filter-red']);
    expect((await list(memberToken, 'osc', ['--sort', 'name:desc'])).map((r: { Name: string }) => r.Name)).toEqual(['filter-red', 'filter-blue']);
    expect(await list(memberToken, 'osc', ['--limit', '1'])).toHaveLength(1);
    const long = await list(memberToken, 'osc', ['--long', '--name', 'filter-blue']);
    expect(long).toEqual([expect.objectContaining({ ID: blue.id, Size: 2, Description: 'a blue share', Properties: expect.objectContaining({ colour: 'blue' }) })]);
    // a member's --all-projects is its own project, as on Manila (all_tenants needs the admin role)
    expect(names(await list(memberToken, 'osc', ['--all-projects']))).toEqual(['filter-blue', 'filter-red']);
    expect(names(await list(adminToken, 'admin', ['--all-projects']))).toEqual(['filter-blue', 'filter-other', 'filter-red']);
    // no share has a host the client can name (the service places shares itself)
    expect(await list(adminToken, 'admin', ['--all-projects', '--host', 'anyhost@backend#pool'])).toEqual([]);
    for (const share of [red, blue]) await ok('osc', memberToken, ['share', 'delete', share.id, '--wait']);
    await ok('admin', adminToken, ['share', 'delete', other.id, '--wait']);
  }, 240_000);
});
