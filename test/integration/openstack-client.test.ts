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

  // an admin manages share types as on Manila (manilaclient/osc/v2/share_types.py CreateShareType,
  // SetShareType, UnsetShareType, DeleteShareType; share_type_access.py), within what the service can
  // truthfully offer; a member reads the public types and the private ones shared with its project
  it('an admin creates, changes, shares and deletes share types by name and by id; a member sees and uses what is shared with it', async () => {
    // status null: the client itself reports the name it could not find
    const refused = async (project: string, token: string, args: string[], status: number | null, text: string) => {
      const res = await openstack(project, token, args);
      expect(res.code, `openstack ${args.join(' ')}: ${res.stdout}`).not.toBe(0);
      if (status !== null) expect(res.stderr).toContain(`HTTP ${status}`);
      expect(res.stderr.toLowerCase()).toContain(text.toLowerCase());
    };
    const gold = await json('admin', adminToken, ['share', 'type', 'create', 'gold', 'false', '--description', 'the gold tier', '--extra-specs', 'capabilities:tier=gold']);
    expect(gold).toMatchObject({ name: 'gold', visibility: 'public', description: 'the gold tier', is_default: false });
    expect(gold.required_extra_specs).toEqual({ driver_handles_share_servers: 'False' });
    expect(gold.optional_extra_specs).toMatchObject({ 'capabilities:tier': 'gold' });
    const internal = await json('admin', adminToken, ['share', 'type', 'create', 'internal', 'false', '--public', 'false']);
    expect(internal).toMatchObject({ name: 'internal', visibility: 'private' });
    // what the service cannot do is refused, not recorded; a name is taken once
    await refused('admin', adminToken, ['share', 'type', 'create', 'servers', 'true'], 400, 'share servers');
    await refused('admin', adminToken, ['share', 'type', 'create', 'snap', 'false', '--snapshot-support', 'true'], 400, 'snapshot_support');
    await refused('admin', adminToken, ['share', 'type', 'create', 'gold', 'false'], 409, 'gold');
    await refused('osc', memberToken, ['share', 'type', 'create', 'mine', 'false'], 403, 'share_type');
    // the configured type is the deployment's
    await refused('admin', adminToken, ['share', 'type', 'set', 'default', '--extra-specs', 'k=v'], 403, 'SHARE_TYPES');
    const typeNames = async (project: string, token: string, args: string[] = []) =>
      (await json(project, token, ['share', 'type', 'list', ...args])).map((t: { Name: string }) => t.Name).sort();
    expect(await typeNames('osc', memberToken)).toEqual(['default', 'gold']);
    expect(await typeNames('admin', adminToken, ['--all'])).toEqual(['default', 'gold', 'internal']);
    expect(await typeNames('osc', memberToken, ['--extra-specs', 'capabilities:tier=gold'])).toEqual(['gold']);
    // extra specs by name, name and description by id (PUT types/{id}, 2.50+)
    await ok('admin', adminToken, ['share', 'type', 'set', 'gold', '--extra-specs', 'colour=yellow']);
    expect((await json('admin', adminToken, ['share', 'type', 'show', 'gold'])).optional_extra_specs).toMatchObject({ colour: 'yellow' });
    await ok('admin', adminToken, ['share', 'type', 'unset', 'gold', 'colour']);
    expect((await json('admin', adminToken, ['share', 'type', 'show', gold.id])).optional_extra_specs).not.toHaveProperty('colour');
    await ok('admin', adminToken, ['share', 'type', 'set', gold.id, '--name', 'golden', '--description', 'renamed']);
    expect(await json('osc', memberToken, ['share', 'type', 'show', 'golden'])).toMatchObject({ id: gold.id, description: 'renamed' });
    // a private type, shared with the member's project, then used, then in use
    await refused('osc', memberToken, ['share', 'type', 'show', 'internal'], null, "No sharetype with a name or ID of 'internal' exists");
    await ok('admin', adminToken, ['share', 'type', 'access', 'create', 'internal', 'osc']);
    const access = await json('admin', adminToken, ['share', 'type', 'access', 'list', 'internal']);
    expect(access.map((a: { 'Project ID'?: string; project_id?: string }) => a['Project ID'] ?? a.project_id)).toEqual(['osc']);
    expect(await typeNames('osc', memberToken)).toEqual(['default', 'golden', 'internal']);
    const share = await json('osc', memberToken, ['share', 'create', 'NFS', '1', '--name', 'on-internal', '--share-type', 'internal', '--wait']);
    expect(share).toMatchObject({ share_type_name: 'internal', share_type: internal.id });
    await refused('admin', adminToken, ['share', 'type', 'delete', 'internal'], 400, 'in use');
    await ok('osc', memberToken, ['share', 'delete', 'on-internal', '--wait']);
    await ok('admin', adminToken, ['share', 'type', 'access', 'delete', 'internal', 'osc']);
    await refused('osc', memberToken, ['share', 'type', 'show', 'internal'], null, "No sharetype with a name or ID of 'internal' exists");
    await ok('admin', adminToken, ['share', 'type', 'delete', 'internal', gold.id]);
    expect(await typeNames('admin', adminToken, ['--all'])).toEqual(['default']);
  }, 240_000);

  // every `share list` option of the client that needs no other service (--project and --user look
  // the ids up in Keystone; --snapshot, --share-network, --share-group and --share-server look up
  // resources this service does not have): manilaclient/osc/v2/share.py ListShare.take_action
  // turns each into the query the service must honour or refuse, never ignore
  it('lists shares with each filter the client sends: name, name~, description~, status, share type, property, extra spec, export location, soft-deleted, public, sort, limit, long, all projects, host; another project\'s share and a soft delete are refused with the reason', async () => {
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
    // another project's share by id: 403 here (Manila: 404); the client stops with the message
    const foreign = await openstack('other', await stack.token('other', ['member', 'reader']), ['share', 'show', red.id]);
    expect(foreign.code).not.toBe(0);
    expect(foreign.stderr).toContain('HTTP 403');
    // no recycle bin: `share delete --soft` (2.69+) is refused, saying so, and the share stays
    const soft = await openstack('osc', memberToken, ['share', 'delete', '--soft', red.id]);
    expect(soft.code).not.toBe(0);
    expect(soft.stderr).toContain('no recycle bin');
    expect(await json('osc', memberToken, ['share', 'show', red.id])).toMatchObject({ status: 'available' });
    for (const share of [red, blue]) await ok('osc', memberToken, ['share', 'delete', share.id, '--wait']);
    await ok('admin', adminToken, ['share', 'delete', other.id, '--wait']);
  }, 240_000);
});
